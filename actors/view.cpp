// The view facade (runtime/view.hpp), a table follower over every partition of one topic.

#include "runtime/view.hpp"

#include "actors/broker_monitor.hpp"
#include "actors/table_follower.hpp"
#include "persistence/state_dir_lock.hpp"
#include "runtime/logger.hpp"
#include "runtime/graph_definition.hpp"
#include "runtime/topic_admin.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace partita {

const char* to_string(view_state s) {
  switch (s) {
    case view_state::connecting:
      return "connecting";
    case view_state::recovering:
      return "recovering";
    case view_state::running:
      return "running";
    case view_state::stopped:
      break;
  }
  return "stopped";
}

struct raw_view::impl {
  view_config cfg;
  std::string topic;
  kafka_properties kafka;
  std::shared_ptr<partita::metrics> figures = std::make_shared<partita::metrics>();
  std::atomic<bool> stop{false};

  mutable std::mutex mtx; // guards state, the callback and follower (set and reset by run())
  mutable std::condition_variable changed;
  view_state state = view_state::connecting;
  std::function<void(view_state)> on_change;
  std::unique_ptr<caf::actor_system_config> sys_cfg; // outlives the system, as in processor
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<table_follower> follower;
  int partitions = 0;

  void set_state(view_state s) {
    std::function<void(view_state)> fn;
    {
      std::lock_guard guard{mtx};
      if (state == s)
        return;
      state = s;
      fn = on_change;
    }
    changed.notify_all();
    for (size_t i = 0; i < 4; ++i)
      figures->gauge("partita_view_state",
                     "State of each view (1 for its current state): connecting, recovering, "
                     "running, stopped.",
                     {{"table", topic}, {"state", to_string(static_cast<view_state>(i))}}) =
        static_cast<size_t>(s) == i ? 1 : 0;
    logger("view")->info("view of {}: {}", topic, to_string(s));
    if (fn)
      fn(s);
  }

  /// Sleeps up to `d`, less if stop() is called.
  void pause(std::chrono::milliseconds d) {
    for (auto end = std::chrono::steady_clock::now() + d;
         !stop && std::chrono::steady_clock::now() < end;)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }

  /// Every partition's handle, for reads.
  std::vector<std::shared_ptr<table_partition_handle>> handles() const {
    std::lock_guard guard{mtx};
    std::vector<std::shared_ptr<table_partition_handle>> out;
    if (follower)
      for (auto p : follower->partitions())
        if (auto h = follower->partition(p))
          out.push_back(std::move(h));
    return out;
  }
};

raw_view::raw_view(view_config cfg, std::string topic) : impl_(std::make_unique<impl>()) {
  if (!valid_topic_name(topic))
    throw config_error("view of '" + topic +
                       "': not a valid topic name (1-249 characters of [a-zA-Z0-9._-])");
  if (cfg.brokers.empty() && !cfg.kafka.contains("bootstrap.servers"))
    throw config_error("view of " + topic +
                       ": no brokers: set the bootstrap servers (--brokers host:port,...)");
  impl_->kafka = cfg.kafka;
  if (!cfg.brokers.empty())
    impl_->kafka["bootstrap.servers"] = cfg.brokers;
  impl_->cfg = std::move(cfg);
  impl_->topic = std::move(topic);
}

raw_view::~raw_view() = default;

void raw_view::stop() {
  impl_->stop = true;
}

const std::string& raw_view::topic() const {
  return impl_->topic;
}

void raw_view::run() {
  auto& d = *impl_;
  auto log = logger("view");
  auto owner = "view-" + d.topic;
  std::optional<state_dir_lock> lock;
  try {
    lock.emplace(d.cfg.state_dir / owner);
  } catch (const store_error& e) {
    throw config_error(e.what());
  }
  d.set_state(view_state::connecting);
  // The partition count: asked as long as no broker answers.
  metadata_client cluster{d.kafka};
  for (bool warned = false; !d.stop;) {
    try {
      auto counts = cluster.partition_counts(std::chrono::seconds{5});
      auto i = counts.find(d.topic);
      if (i == counts.end())
        throw std::invalid_argument("view of " + d.topic + ": the topic does not exist; start "
                                    "the group that writes it first, or create it (compacted)");
      d.partitions = i->second;
      break;
    } catch (const config_error& e) {
      if (!warned)
        log->warn("view of {}: {}; trying again until a broker answers", d.topic, e.what());
      warned = true;
      d.pause(std::chrono::seconds{1});
    } catch (const std::invalid_argument& e) {
      d.set_state(view_state::stopped);
      throw config_error(e.what());
    }
  }
  if (d.stop) {
    d.set_state(view_state::stopped);
    return;
  }
  {
    std::lock_guard guard{d.mtx};
    d.sys_cfg = std::make_unique<caf::actor_system_config>();
    d.sys_cfg->set("scheduler.policy", caf::atom("sharing"));
    d.sys_cfg->set("scheduler.max-threads", 2);
    d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
    d.follower = std::make_unique<table_follower>(
      *d.sys, follower_config{d.topic, d.kafka, d.cfg.state_dir, owner, d.cfg.fsync, {},
                              d.cfg.restart, 20000, d.figures});
  }
  std::vector<int32_t> all;
  for (int32_t p = 0; p < d.partitions; ++p)
    all.push_back(p);
  d.follower->follow(all);
  d.set_state(view_state::recovering);
  // The broker monitor restarts a partition waiting out its backoff when a broker is back.
  auto monitor = d.sys->spawn(broker_monitor, d.figures);
  caf::anon_send(monitor, subscribe_atom::value, d.follower->supervisor());
  {
    broker_poller poller{d.kafka, {d.topic}, monitor, std::chrono::milliseconds{500}};
    auto next_probe = std::chrono::steady_clock::now() + std::chrono::seconds{2}; // it answered
    bool reachable = true;
    while (!d.stop) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next_probe) {
        // One question every two seconds on one connection: are the brokers there?
        try {
          cluster.partition_counts(std::chrono::seconds{1});
          reachable = true;
        } catch (const config_error&) {
          reachable = false;
        }
        next_probe = now + std::chrono::seconds{2};
      }
      bool done = d.follower->recovered();
      d.set_state(!reachable ? view_state::connecting
                             : done ? view_state::running : view_state::recovering);
      d.pause(std::chrono::milliseconds{done ? 50 : 5});
    }
  }
  caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
  std::unique_ptr<table_follower> follower;
  {
    std::lock_guard guard{d.mtx};
    follower = std::move(d.follower);
  }
  follower.reset(); // the partitions stop, the stores close
  {
    std::lock_guard guard{d.mtx};
    d.sys.reset();
  }
  d.set_state(view_state::stopped);
}

std::optional<std::string> raw_view::get(std::string_view key) const {
  auto& d = *impl_;
  std::shared_ptr<table_partition_handle> h;
  {
    std::lock_guard guard{d.mtx};
    if (!d.follower || d.partitions <= 0)
      return std::nullopt;
    h = d.follower->partition(key_partition(key, d.partitions));
  }
  auto store = h ? h->store() : nullptr;
  return store ? store->get(key) : std::nullopt;
}

void raw_view::for_each(
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  range({}, {}, fn);
}

void raw_view::range(std::string_view from, std::string_view to,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const {
  bool go_on = true;
  for (const auto& h : impl_->handles()) {
    auto store = h->store();
    if (!store)
      continue;
    store->scan(from, to, [&](std::string_view k, std::string_view v) {
      go_on = fn(k, v);
      return go_on;
    });
    if (!go_on)
      return;
  }
}

bool raw_view::recovered() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->state == view_state::running ||
         (impl_->follower && impl_->partitions > 0 && impl_->follower->recovered());
}

bool raw_view::wait_recovered(std::chrono::milliseconds timeout) const {
  std::unique_lock guard{impl_->mtx};
  impl_->changed.wait_for(guard, timeout, [&] {
    return impl_->state == view_state::running || impl_->state == view_state::stopped;
  });
  return impl_->state == view_state::running;
}

view_state raw_view::state() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->state;
}

void raw_view::on_state_change(std::function<void(view_state)> fn) {
  std::lock_guard guard{impl_->mtx};
  impl_->on_change = std::move(fn);
}

view_stats raw_view::stats() const {
  view_stats out;
  for (const auto& h : impl_->handles()) {
    ++out.partitions;
    out.recovered += h->recovered ? 1 : 0;
    out.records += h->applied;
    if (h->end >= 0)
      out.lag += std::max<int64_t>(0, h->end - h->position);
    if (auto store = h->store())
      out.keys += store->size();
  }
  return out;
}

const metrics& raw_view::metrics() const {
  return *impl_->figures;
}

} // namespace partita
