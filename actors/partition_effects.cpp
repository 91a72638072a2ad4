// A partition actor's effects (partition_batch.hpp): the produce of each batch's outputs and
// changelog records in their turn, and what their acknowledgements move on.

#include "actors/partition_batch.hpp"

#include "actors/batch_effects.hpp"
#include "runtime/crash_point.hpp"

namespace partita::detail {

namespace {

effects_target target_of(const partition_state& st) {
  const auto& graph = *st.cfg.graph;
  // Checkpoints carry the batch's number whenever a side changelog is kept (timers, visits,
  // windows): a side record's `then table` is confirmed by that number.
  return {*st.cfg.producer, graph.persist ? &st.table_topic : nullptr, st.cfg.partition,
          st.writer, keeps(graph, side::timers) || keeps(graph, side::windows)};
}

/// The acknowledgement of `count` changelog records of batch `seq`, expected at `expected`,
/// which moves on past them.
batch_ack* ack_for(partition_self self, uint64_t seq, int64_t& expected, int64_t count,
                   std::optional<side> of = std::nullopt) {
  auto* ack = new batch_ack{caf::actor_cast<caf::actor>(self), seq, expected, count, of};
  expected += count;
  return ack;
}

void count_outputs(partition_state& st, const pending_batch& b) {
  for (const auto& o : b.outputs)
    ++st.figures->emitted(o.topic);
}

/// Produces a batch's outputs ahead of its changelog records: of the batch in flight, before
/// its side records (reported as side_acked_atom), or of a batch without side records, before
/// its table records (`chain` empty: reported as outputs_acked_atom).
void produce_outputs_first(partition_self self, const pending_batch& b,
                           std::optional<side> chain) {
  auto& st = self->state;
  produce_outputs(target_of(st), b,
                  new batch_ack{caf::actor_cast<caf::actor>(self), b.seq, 0, 0, chain, !chain});
  count_outputs(st, b);
}

/// Produces a batch's table records and outputs (unless they went first).
void produce_rest(partition_self self, const unsent_batch& b) {
  auto& st = self->state;
  auto count = st.cfg.graph->persist ? static_cast<int64_t>(b.batch.changes.size()) : 0;
  auto* ack = ack_for(self, b.batch.seq, st.changelog_expected, count);
  ++st.producing;
  produce_effects(target_of(st), b.batch, b.number, ack, !b.outputs_sent);
  if (count > 0)
    st.figures->emitted(st.table_topic) += count;
  if (!b.outputs_sent)
    count_outputs(st, b.batch);
}

/// The first side table after `after` (in production order) the batch changes, if any.
std::optional<side> next_side(const pending_batch& b, std::optional<side> after) {
  bool past = !after;
  for (auto s : production_order) {
    if (past && !b.changes_of(s).empty())
      return s;
    past = past || s == *after;
  }
  return std::nullopt;
}

/// Produces the batch in flight's records of side table `s`; their checkpoint names the
/// changelog that comes next, whose checkpoint must confirm it.
void produce_side(partition_self self, side s) {
  auto& st = self->state;
  const auto& b = *st.side_in_flight;
  auto& log = st.sides[static_cast<unsigned>(s)];
  std::string then;
  if (auto next = next_side(b.batch, s))
    then = side_name(*next);
  else if (st.cfg.graph->persist && !b.batch.changes.empty())
    then = "table";
  auto count = static_cast<int64_t>(b.batch.changes_of(s).size());
  auto* ack = ack_for(self, b.batch.seq, log.expected, count, s);
  st.in_flight_side = s;
  produce_side_changes(target_of(st), s, log.topic, log.writer, b.batch, b.number, then, ack);
  st.figures->emitted(log.topic) += count;
}

/// A batch with outputs and table records: its outputs go first, its table records (with its
/// checkpoint) once they are acknowledged, so that a crash in between leaves the batch out for
/// the next owner, which processes its records again and sends the outputs again.
bool outputs_first(const partition_state& st, const unsent_batch& b) {
  return st.cfg.graph->persist && !b.batch.changes.empty() && !b.batch.outputs.empty();
}

/// Produces the outputs of the unsent batches before the first that changes a side table,
/// those not produced yet, each counted by an outputs_acked_atom report.
void send_outputs_ahead(partition_self self) {
  auto& st = self->state;
  for (auto& b : st.unsent) {
    if (st.deferred.holds(b.batch.seq))
      return; // nothing of it or after it goes before its commit handles are called
    if (next_side(b.batch, std::nullopt))
      return; // it sends its own outputs, once the batches before it are done
    if (b.outputs_sent || !outputs_first(st, b))
      continue;
    b.outputs_sent = true;
    ++st.outputs_ahead;
    produce_outputs_first(self, b.batch, std::nullopt);
  }
}

} // namespace

void send_unsent(partition_self self) {
  auto& st = self->state;
  while (!st.unsent.empty() && !st.side_in_flight && !st.abandoned) {
    if (st.cfg.lease && !st.cfg.lease->valid()) {
      // Nothing is produced on a lease that ran out: look again once it may be renewed.
      self->delayed_send(self, std::chrono::milliseconds{100}, lease_atom::value);
      return;
    }
    auto& next = st.unsent.front();
    if (st.deferred.holds(next.batch.seq))
      return; // on_deferred() sends it once its commit handles are called
    auto first = next_side(next.batch, std::nullopt);
    if (!first) {
      if (outputs_first(st, next) && !next.outputs_acked)
        return send_outputs_ahead(self);
      next.number = ++st.batch_no;
      produce_rest(self, next);
      st.unsent.pop_front();
      continue;
    }
    if (st.producing > 0) // every batch before it first
      return;
    next.number = ++st.batch_no;
    st.side_in_flight = std::move(next);
    st.unsent.pop_front();
    const auto& b = st.side_in_flight->batch;
    if (b.outputs.empty()) {
      produce_side(self, *first);
      continue;
    }
    // Its outputs first (a window's result, a timer's emit): its checkpoints count only once
    // they are acknowledged, so a crash in between makes them sent again, never lost.
    st.outputs_in_flight = true;
    produce_outputs_first(self, b, first);
  }
}

namespace {

/// The outputs or side records of the batch in flight are acknowledged (at `last`): its next
/// changelog's records go, or its table records, then what waited behind it.
void go_on_after_side(partition_self self, int64_t last) {
  auto& st = self->state;
  if (st.outputs_in_flight) {
    st.outputs_in_flight = false;
    st.side_in_flight->outputs_sent = true;
    crash_point("after-outputs");
    return produce_side(self, *next_side(st.side_in_flight->batch, std::nullopt));
  }
  auto s = st.in_flight_side;
  st.sides[static_cast<unsigned>(s)].acked[st.side_in_flight->batch.seq] = last;
  crash_point(s == side::timers ? "after-timers" : "after-windows");
  if (auto next = next_side(st.side_in_flight->batch, s))
    return produce_side(self, *next);
  auto b = std::move(*st.side_in_flight);
  st.side_in_flight.reset();
  if (b.batch.topic.empty() && !b.batch.changes.empty() && s == side::timers)
    crash_point("after-fired-timers"); // timers fired: erased in the changelog, the table not
  produce_rest(self, b);
  send_unsent(self);
}

} // namespace

/// Every effect of batch `seq` is acknowledged: the watermark moves over the batches now done
/// in order, whose pending records are forgotten in the same transaction as the new offsets.
void on_acked(partition_self self, uint64_t seq, int64_t changelog_last, const std::string& error,
              bool foreign) {
  auto& st = self->state;
  if (!error.empty())
    return fail(self, "producing effects failed: " + error);
  if (foreign) {
    st.abandoned = true;
    return fail(self, "its changelog records landed after records of another writer: another "
                      "member owns this partition now");
  }
  --st.producing;
  if (changelog_last >= 0)
    st.changelog_acked[seq] = changelog_last;
  auto& latency = st.figures->commit_latency;
  auto now = std::chrono::steady_clock::now();
  std::vector<uint64_t> passed;
  bool advanced = st.tracker.ack(seq, [&](uint64_t done, std::chrono::steady_clock::time_point f) {
    latency.sum += std::chrono::duration_cast<std::chrono::microseconds>(now - f).count();
    ++latency.count;
    passed.push_back(done);
    if (auto i = st.changelog_acked.find(done); i != st.changelog_acked.end()) {
      st.changelog_next = std::max(st.changelog_next, i->second + 1);
      st.changelog_acked.erase(i);
      st.wrote = true;
    }
    for (auto& log : st.sides)
      if (auto i = log.acked.find(done); i != log.acked.end()) {
        log.next = std::max(log.next, i->second + 1);
        log.acked.erase(i);
        log.wrote = true;
      }
  });
  if (advanced) {
    // The pending records of the batches passed are forgotten, and the offsets saved, with the
    // next batch's transaction, or by a flush soon after when no batch comes: one transaction
    // per acknowledgement would cost as much as the batches themselves at high rates.
    st.forget.insert(st.forget.end(), passed.begin(), passed.end());
    if (!st.flush_scheduled) {
      st.flush_scheduled = true;
      self->delayed_send(self, std::chrono::milliseconds{20}, flush_atom::value);
    }
    crash_point("before-offset-commit");
    for (const auto& [topic, offset] : st.tracker.watermarks())
      st.cfg.commit(topic, st.cfg.partition, offset + 1);
  }
  send_unsent(self);
  finish_drain(self, false);
}

/// The outputs batch `seq` sent ahead are acknowledged: its table records may go.
void on_outputs_acked(partition_self self, uint64_t seq, const std::string& error) {
  auto& st = self->state;
  --st.outputs_ahead;
  if (!error.empty()) {
    st.abandoned = true; // it stays pending in the store, sent again at the next start
    return fail(self, "producing outputs failed: " + error);
  }
  for (auto& b : st.unsent)
    if (b.batch.seq == seq)
      b.outputs_acked = true;
  crash_point("after-outputs");
  send_unsent(self);
  finish_drain(self, false);
}

/// A batch's records of a side changelog are acknowledged: the rest of it goes.
void on_side_acked(partition_self self, int64_t last, const std::string& error, bool foreign) {
  auto& st = self->state;
  auto name = st.outputs_in_flight ? "outputs" : side_name(st.in_flight_side);
  if (!error.empty()) {
    // The batch stays pending in the store, sent again once the partition restarts: a failure
    // does not wait for the batches held behind it.
    st.abandoned = true;
    return fail(self, std::string{"producing "} + name + " failed: " + error);
  }
  if (foreign) {
    st.abandoned = true;
    return fail(self, std::string{"its "} + name + " records landed after records of another "
                      "writer: another member owns this partition now");
  }
  go_on_after_side(self, last);
}

/// Registers a batch's effects with the commit tracker under its sequence number and produces
/// them when their turn comes (send_unsent).
void send_effects(partition_self self, const pending_batch& effects,
                  std::chrono::steady_clock::time_point fetched_at) {
  auto& st = self->state;
  st.tracker.add(effects.seq, effects.topic, effects.last_offset, fetched_at);
  st.unsent.push_back(unsent_batch{effects, fetched_at, 0});
  send_unsent(self);
}

} // namespace partita::detail
