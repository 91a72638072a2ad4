#include "actors/partition_actor.hpp"

#include "actors/changelog_recovery.hpp"
#include "actors/partition_batch.hpp"
#include "actors/partition_meta.hpp"
#include "actors/windows.hpp"
#include "runtime/crash_point.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

namespace partita {

using detail::arm_timers;
using detail::arm_visits;
using detail::fire_due_timers;
using detail::hold;
using detail::hold_reason;
using detail::look_again;
using detail::may_write;
using detail::poison_error;
using detail::process;
using detail::save_meta;
using detail::send_effects;
using detail::send_unsent;

using self_ptr = caf::stateful_actor<partition_state>*;

using detail::fail;
using detail::finish_drain;

namespace {

/// Batches queued for the actor, no longer counted by the pump's back-pressure.
void release(partition_state& st, const record_batch& batch) {
  st.cfg.flow->in_flight -= static_cast<int64_t>(batch.records.size());
}

} // namespace

void detail::fail(self_ptr self, const std::string& what, errc code) {
  auto& st = self->state;
  if (st.failure) // failed before: what this failure changed (abandoned) may end the drain
    return finish_drain(self, false);
  st.log->error("[{}] partition {} failed: {}", st.cfg.graph->group, st.cfg.partition, what);
  st.failure = caf::make_error(code, what);
  *st.cancel_recovery = true;
  for (const auto& batch : st.stash)
    release(st, *batch);
  st.stash.clear();
  self->delayed_send(self, st.cfg.drain_timeout, timeout_atom::value);
  finish_drain(self, false);
}

namespace {

/// Runs a batch path step (records, timers, punctuation); a failure fails the partition, as
/// the poison policy says (stopped, or restarted by the supervisor).
template <class F>
void guarded(self_ptr self, F step) {
  try {
    step();
  } catch (const poison_error& e) {
    fail(self, e.what(), e.stop ? errc::partition_stopped : errc::partition_failed);
  } catch (const std::exception& e) {
    fail(self, e.what());
  }
}

void handle_batch(self_ptr self, const record_batch_ptr& batch) {
  auto& st = self->state;
  if (st.failure || st.drain) {
    // Dropped: whoever processes the partition next fetches them again.
  } else if (st.recovering || !may_write(self)) {
    st.stash.push_back(batch);
    return;
  } else {
    bool whole = true;
    guarded(self, [&] { whole = process(self, *batch); });
    if (!whole && !st.failure) { // at max_deferred: the rest once handles are called
      st.stash.insert(st.stash.begin(), batch);
      may_write(self);
      return;
    }
  }
  release(st, *batch);
}

/// Processes what was stashed (during recovery, or while the lease was out).
void process_stash(self_ptr self) {
  auto& st = self->state;
  auto stash = std::move(st.stash);
  st.stash.clear();
  for (std::size_t i = 0; i < stash.size(); ++i) {
    handle_batch(self, stash[i]);
    if (st.holding) { // the lease ran out again: keep the rest, in order
      st.stash.insert(st.stash.end(), stash.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                      stash.end());
      return;
    }
  }
}

} // namespace

void detail::finish_drain(self_ptr self, bool timed_out) {
  auto& st = self->state;
  if (!st.drain && !st.failure)
    return;
  // Batches not produced yet wait only while they may be produced: on a lease that ran out
  // they stay pending in the store (sent again by its next owner, or rolled back).
  bool unsendable = st.cfg.lease && !st.cfg.lease->valid() && st.producing == 0 &&
                    st.outputs_ahead == 0 && !st.side_in_flight;
  // A failure does not wait for batches held by commit handles: the restart undoes them.
  auto waiting = st.tracker.pending() - (st.failure ? detail::held_back(st) : 0);
  if (!timed_out && (st.recovering || (waiting > 0 && !st.abandoned && !unsendable)))
    return;
  if (timed_out && st.tracker.pending() > 0)
    st.log->warn("[{}] partition {}: drain timed out with {} batches unacknowledged ({} records "
                 "wait for commit handles); their effects are sent again by the next owner of "
                 "this store, or processed again",
                 st.cfg.graph->group, st.cfg.partition, st.tracker.pending(), st.deferred.open());
  // Before the store is reconciled (or while the recovery thread still owns it), nothing of
  // this actor's is worth saving: the next start reconciles again.
  if (st.restored && !st.recovering) {
    try {
      save_meta(st);
    } catch (const std::exception& e) {
      st.log->error("[{}] partition {}: cannot save offsets: {}", st.cfg.graph->group,
                    st.cfg.partition, e.what());
    }
  }
  for (const auto& batch : st.stash)
    release(st, *batch);
  st.stash.clear();
  if (st.drain) {
    offset_map acked{st.tracker.watermarks().begin(), st.tracker.watermarks().end()};
    st.drain->deliver(acked);
    st.drain.reset();
  }
  if (st.deferred.used()) // its handles no longer count
    st.figures->count_deferred(0);
  if (st.failure)
    self->quit(*st.failure);
  else
    self->quit();
}

namespace {

/// Runs the hand-over rule on a thread of its own (the changelog read blocks); the store is
/// the thread's alone until it reports back with restored_atom.
void start_recovery(self_ptr self) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  st.recovering = true;
  recovery_job job{st.cfg.reader, graph.persist ? graph.table_topic() : std::string{}, {},
                   st.cfg.partition, graph.input_topics(),
                   st.cfg.lease ? st.cfg.lease->generation() : 0};
  for (auto s : production_order)
    job.sides[static_cast<unsigned>(s)] = st.sides[static_cast<unsigned>(s)].topic;
  auto store = st.store;
  auto cancel = st.cancel_recovery;
  auto parent = caf::actor_cast<caf::actor>(self);
  auto* figures = st.figures.get(); // outlives the thread: the state joins it
  figures->recovery_progress = 0;
  set_partition_status(figures->registry, st.cfg.partition, partition_status::recovering);
  st.recovery = std::thread{[=] {
    try {
      auto result =
        std::make_shared<handover_result>(recover_partition(job, *store, *cancel, *figures));
      caf::anon_send(parent, restored_atom::value, result, std::string{});
    } catch (const std::exception& e) {
      caf::anon_send(parent, restored_atom::value, handover_ptr{}, std::string{e.what()});
    }
  }};
}

void on_ready(partition_state& st) {
  set_partition_status(*st.cfg.figures, st.cfg.partition, partition_status::running);
  st.figures->recovery_progress = 1000; // also for a group without a table: nothing to recover
  if (!st.counted_ready) {
    st.counted_ready = true;
    ++*st.cfg.ready;
  }
}

/// The store is reconciled: take the position it found, send the pending batches again, and
/// process what arrived meanwhile.
void on_restored(self_ptr self, const handover_result& r) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  static constexpr const char* paths[] = {"current", "stale (another member wrote since)",
                                          "from Partita 0.1 with unacknowledged records: "
                                          "rebuilt"};
  if (r.taken != handover_result::path::current || !r.resend.empty() || r.superseded > 0 ||
      r.left_out > 0 || r.rolled_back > 0)
    st.log->info("[{}] partition {}: store {}; {} changelog records read, {} of superseded "
                 "owners ignored, {} of unfinished batches left out ({} keys written "
                 "again); {} pending batches rolled back, {} sent again; writing as {} "
                 "(epoch {})",
                 graph.group, st.cfg.partition, paths[static_cast<int>(r.taken)], r.records,
                 r.superseded, r.left_out, r.repair.size(), r.rolled_back, r.resend.size(),
                 encode_writer(r.writer), epoch_text(r.writer.epoch));
  st.restored = true;
  st.writer = r.writer;
  st.changelog_expected = r.changelog_end;
  st.changelog_next = st.store->meta(meta::changelog).value_or(0);
  for (const auto& topic : graph.input_topics()) {
    st.applied[topic] = r.applied.at(topic);
    // Kafka's commit may lag what the store holds acknowledged (a crash before the commit):
    // hand it the store's offsets, which nothing fetched from now on may otherwise advance.
    auto acked = st.store->meta(meta::acked(topic)).value_or(-1);
    st.tracker.restore(topic, acked);
    if (acked >= 0)
      st.cfg.commit(topic, st.cfg.partition, acked + 1);
  }
  for (const auto& b : r.resend)
    st.next_seq = std::max(st.next_seq, b.seq + 1);
  // This owner's first record in each side changelog names its base there (docs/time.md):
  // one batch of owner markers, with the keys to repair that it writes again (docs/handover.md).
  pending_batch marker;
  marker.changes = r.repair;
  for (auto s : production_order) {
    auto& log = st.sides[static_cast<unsigned>(s)];
    if (!log.kept())
      continue;
    const auto& found = r.sides[static_cast<unsigned>(s)];
    log.writer = writer_id{r.writer.store, r.writer.epoch, found.base};
    log.expected = found.end;
    log.next = st.store->meta(meta::side_changelog(s)).value_or(0);
    auto& changes = marker.changes_of(s);
    changes.push_back(
      {owner_marker(r.writer.store, r.writer.epoch), std::nullopt, std::string{"owner"}});
    changes.insert(changes.end(), found.repair.begin(), found.repair.end());
  }
  if (marker.has_side_changes() || !marker.changes.empty()) {
    marker.seq = st.next_seq++;
    send_effects(self, marker, std::chrono::steady_clock::now());
  }
  if (graph.timer)
    st.figures->count_timers(st.store->side_size(side::timers));
  for (const auto& b : r.resend)
    send_effects(self, b, std::chrono::steady_clock::now());
  on_ready(st);
  process_stash(self);
  arm_timers(self);
  arm_visits(self);
  for (uint32_t i = 0; i < graph.punctuations.size(); ++i)
    self->delayed_send(self, graph.punctuations[i].interval, punctuate_atom::value, i);
}

} // namespace

partition_state::~partition_state() {
  if (counted_ready)
    --*cfg.ready;
  *cancel_recovery = true;
  if (recovery.joinable())
    recovery.join();
}

caf::behavior partition_actor(self_ptr self, partition_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  const auto& graph = *st.cfg.graph;
  st.log = logger("partition", graph.input_topics().front(), st.cfg.partition);
  st.dead_letter_topic = graph.dead_letter_topic();
  st.table_topic = graph.table_topic();
  st.visits_topic = graph.visits_topic();
  for (auto s : production_order)
    if (keeps(graph, s))
      st.sides[static_cast<unsigned>(s)].topic = side_topic(graph, s);
  st.figures = std::make_unique<partition_actor_figures>(*st.cfg.figures, st.cfg.partition);
  st.deferred.bind(self->address());
  if (graph.window)
    st.figures->late_windows(); // shown from the start, with what it counted before
  try {
    st.store = std::make_shared<partition_store>(st.cfg.store);
    // The consumer starts at the acknowledged offsets (or the group's commit, if further): no
    // later than what the reconciled store will hold, which process() skips.
    for (const auto& topic : graph.input_topics())
      if (auto acked = st.store->meta(meta::acked(topic)).value_or(-1); acked >= 0)
        st.tracker.restore(topic, acked);
    st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  } catch (const std::exception& e) {
    st.log->error("[{}] partition {} cannot start: {}", graph.group, st.cfg.partition, e.what());
    self->quit(caf::make_error(errc::partition_failed, e.what()));
    return {};
  }
  if (graph.persist || graph.timer || graph.window) {
    start_recovery(self);
  } else {
    // No changelog to read: only pending outputs to send again, at once.
    try {
      on_restored(self, take_over(*st.store, graph.input_topics(),
                                  [](int64_t, const auto&) { return int64_t{0}; }, {},
                                  st.cfg.lease ? st.cfg.lease->generation() : 0));
    } catch (const std::exception& e) {
      fail(self, e.what());
    }
  }
  return {
    [=](batch_atom, const record_batch_ptr& batch) { handle_batch(self, batch); },
    [=](acked_atom, uint64_t seq, int64_t changelog_last, const std::string& error,
        bool foreign) { detail::on_acked(self, seq, changelog_last, error, foreign); },
    [=](deferred_atom, uint64_t id, const std::string& error, bool failed) {
      detail::on_deferred(self, id, failed ? std::optional{error} : std::nullopt);
    },
    [=](outputs_acked_atom, uint64_t seq, const std::string& error) {
      detail::on_outputs_acked(self, seq, error);
    },
    [=](side_acked_atom, uint64_t, int64_t last, const std::string& error, bool foreign) {
      detail::on_side_acked(self, last, error, foreign);
    },
    [=](punctuate_atom, uint32_t index) {
      auto& st = self->state;
      if (st.failure || st.drain)
        return;
      self->delayed_send(self, st.cfg.graph->punctuations.at(index).interval,
                         punctuate_atom::value, index);
      if (!may_write(self))
        return; // this time skipped
      guarded(self, [&] { detail::punctuate_partition(self, index); });
    },
    [=](timer_atom) {
      auto& st = self->state;
      st.wakeup_at.reset();
      if (st.failure || st.drain || st.recovering || !st.restored || !may_write(self))
        return; // re-armed once restored, or when the partition may write again
      guarded(self, [&] { fire_due_timers(self); });
    },
    [=](visit_atom) {
      auto& st = self->state;
      st.visit_scheduled = false;
      if (st.failure || st.drain || st.recovering || !st.restored || !may_write(self))
        return; // scheduled again once restored, or when the partition may write again
      guarded(self, [&] { detail::visit_chunk(self); });
    },
    [=](restored_atom, const handover_ptr& result, const std::string& error) {
      auto& st = self->state;
      st.recovering = false;
      // Its last act was this message: joining takes no time, and frees its stack now (an
      // idle partition kept a finished thread's 8 MB mapping, some 34 KiB of it resident).
      if (st.recovery.joinable())
        st.recovery.join();
      if (st.drain || st.failure) // cancelled, or no longer needed
        return finish_drain(self, false);
      if (!error.empty())
        return fail(self, "recovery from the changelog failed: " + error);
      on_restored(self, *result);
      finish_drain(self, false);
    },
    [=](lease_atom) {
      auto& st = self->state;
      if (st.failure || st.drain)
        return;
      if (auto reason = hold_reason(st); reason != hold::none) {
        if (reason == hold::deferred && !st.recovering)
          send_unsent(self); // the lease is valid: what commit handles freed may go
        look_again(self, reason);
        return;
      }
      if (st.holding && !st.holding_quietly)
        st.log->info("[{}] partition {}: may process again; processing {} held batches",
                     st.cfg.graph->group, st.cfg.partition, st.stash.size());
      st.holding = false;
      if (!st.recovering) {
        send_unsent(self);
        process_stash(self);
        arm_timers(self);
        arm_visits(self);
      }
    },
    [=](offsets_atom) -> offset_map {
      const auto& wm = self->state.tracker.watermarks();
      return {wm.begin(), wm.end()};
    },
    [=](drain_atom) {
      auto& st = self->state;
      st.drain = self->make_response_promise();
      *st.cancel_recovery = true;
      self->delayed_send(self, st.cfg.drain_timeout, timeout_atom::value);
      finish_drain(self, false);
    },
    [=](timeout_atom) { finish_drain(self, true); },
    [=](flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      if (st.forget.empty() || st.failure || st.drain)
        return; // written by the batch since, or by the drain
      try {
        save_meta(st);
      } catch (const std::exception& e) {
        fail(self, e.what());
      }
    },
    [=](get_atom, const std::string& key) -> std::vector<std::string> {
      auto& st = self->state;
      if (st.recovering)
        return {};
      auto value = st.store->get(key);
      return value ? std::vector<std::string>{*value} : std::vector<std::string>{};
    },
    [=](get_atom, windows_atom, const std::string& key) -> std::vector<std::string> {
      auto& st = self->state;
      std::vector<std::string> out;
      if (st.recovering || !st.cfg.graph->window)
        return out;
      for (auto& w : windows_of(*st.store, *st.cfg.graph->window, key))
        out.insert(out.end(), {std::to_string(w.bounds.start), std::to_string(w.bounds.end),
                               w.closed ? "closed" : "open", std::move(w.value)});
      return out;
    },
  };
}

} // namespace partita
