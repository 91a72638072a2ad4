#include "actors/partition_supervisor.hpp"

#include "actors/partition_figures.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

namespace partita {

namespace {

using self_ptr = caf::stateful_actor<supervisor_state>*;

metrics::labels labels_of(const supervisor_state& st, int32_t p) {
  return partition_labels(p, st.cfg.labels);
}

metrics::figure& backoff(const supervisor_state& st, int32_t p) {
  return st.cfg.figures->gauge("partita_partition_backoff_seconds",
                               "Delay before a failed partition's next restart (0: not waiting).",
                               labels_of(st, p), 0.001);
}

void restart_now(self_ptr self, int32_t p, supervised_partition& sp, const char* why) {
  auto& st = self->state;
  ++sp.generation; // a pending timer for this partition is now stale
  sp.status = supervised_partition::restarting;
  st.log->info("[{}] partition {}: restarting ({})", st.cfg.group, p, why);
  ++st.cfg.figures->counter("partita_partition_restarts_total",
                            "Restarts of each partition's actor after a failure.",
                            labels_of(st, p));
  backoff(st, p) = 0;
  st.cfg.figures->gauge("partita_partition_last_restart_timestamp_seconds",
                        "When each partition last restarted (Unix time).", labels_of(st, p)) =
    std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count();
  st.cfg.restart(p);
}

void on_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto i = std::find_if(st.partitions.begin(), st.partitions.end(), [&](const auto& kv) {
    return kv.second.child && kv.second.child.address() == msg.source;
  });
  if (i == st.partitions.end())
    return; // an actor of a revoked partition
  auto p = i->first;
  auto& sp = i->second;
  sp.child = nullptr;
  if (!msg.reason || msg.reason == caf::exit_reason::normal) {
    st.partitions.erase(i); // drained and stopped: the partition was given up
    return;
  }
  auto reason = self->system().render(msg.reason);
  st.cfg.on_down(p);
  if (msg.reason == caf::make_error(errc::partition_stopped)) {
    sp.status = supervised_partition::failed; // stopped on purpose: not restarted
    set_partition_status(*st.cfg.figures, labels_of(st, p), partition_status::stopped);
    st.log->error("[{}] partition {} stopped by its poison policy; it stays down: {}",
                  st.cfg.group, p, reason);
    st.cfg.on_failed(p, reason);
    return;
  }
  auto delay = sp.schedule.failed(self->clock().now(), st.cfg.random());
  if (!delay) {
    sp.status = supervised_partition::failed;
    set_partition_status(*st.cfg.figures, labels_of(st, p), partition_status::failed);
    st.log->error("[{}] partition {} failed {} times within {} s; it stays down: {}",
                  st.cfg.group, p, st.cfg.policy.max_restarts + 1,
                  std::chrono::duration_cast<std::chrono::seconds>(st.cfg.policy.window).count(),
                  reason);
    st.cfg.on_failed(p, reason);
    return;
  }
  sp.status = supervised_partition::waiting;
  set_partition_status(*st.cfg.figures, labels_of(st, p), partition_status::waiting);
  backoff(st, p) = delay->count();
  ++sp.generation;
  st.log->warn("[{}] partition {} failed; restart {} in {} ms: {}", st.cfg.group, p,
               sp.schedule.attempt(), delay->count(), reason);
  self->delayed_send(self, *delay, restart_atom::value, p, sp.generation);
}

} // namespace

caf::behavior partition_supervisor(self_ptr self, supervisor_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.log = logger("supervisor");
  self->set_down_handler([=](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [=](watch_atom, int32_t p, const caf::actor& child) {
      auto& st = self->state;
      auto [i, fresh] = st.partitions.try_emplace(p, supervised_partition{
                                                       nullptr, restart_schedule{st.cfg.policy}});
      auto& sp = i->second;
      if (sp.status == supervised_partition::failed)
        return;
      sp.child = child;
      sp.status = supervised_partition::running;
      sp.schedule.started(self->clock().now());
      self->monitor(child);
    },
    [=](unwatch_atom, int32_t p) {
      auto& st = self->state;
      if (auto i = st.partitions.find(p); i != st.partitions.end()) {
        if (i->second.child)
          self->demonitor(i->second.child);
        st.partitions.erase(i);
      }
    },
    [=](restart_atom, int32_t p, uint64_t generation) {
      auto& st = self->state;
      auto i = st.partitions.find(p);
      if (i != st.partitions.end() && i->second.status == supervised_partition::waiting &&
          i->second.generation == generation)
        restart_now(self, p, i->second, "backoff over");
    },
    [=](leader_atom, const std::string& topic, int32_t p, int32_t, int32_t to) {
      auto& st = self->state;
      const auto& topics = st.cfg.topics;
      if (!topics.empty() && std::find(topics.begin(), topics.end(), topic) == topics.end())
        return;
      auto i = st.partitions.find(p);
      if (to >= 0 && i != st.partitions.end() &&
          i->second.status == supervised_partition::waiting)
        restart_now(self, p, i->second, "its leader moved");
    },
    [=](broker_up_atom, int32_t) {
      for (auto& [p, sp] : self->state.partitions)
        if (sp.status == supervised_partition::waiting)
          restart_now(self, p, sp, "a broker came back");
    },
    [=](ping_atom) { return ping_atom::value; },
    [=](broker_down_atom, int32_t) {
      // Nothing to do: a partition that needs the broker fails and waits for broker_up.
    },
  };
}

} // namespace partita
