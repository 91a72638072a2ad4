#include "actors/partition_batch.hpp"

#include "actors/batch_effects.hpp"
#include "actors/engine_context.hpp"
#include "actors/partition_meta.hpp"
#include "runtime/crash_point.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

namespace partita::detail {

namespace {

/// How many times the record at `offset` of `topic` failed before (stored with the state).
int64_t earlier_failures(const partition_state& st, const std::string& topic, int64_t offset) {
  if (st.store->meta(meta::poison(topic)).value_or(-1) != offset)
    return 0;
  return st.store->meta(meta::poison_attempts(topic)).value_or(0);
}

} // namespace

/// The changelog records carry the last value per key; the acknowledgement of the effects
/// advances the commit watermark and forgets the pending batch.
void commit_batch(partition_self self, const std::string& topic, partition_store::write_batch& batch,
                  engine_context& ctx, int64_t last,
                  std::chrono::steady_clock::time_point fetched_at, bool fired) {
  auto& st = self->state;
  if (last < 0 && !fired)
    return commit_meta(st, batch); // only metadata changed
  ctx.close_windows();
  if (auto late = ctx.late_windows(); late > 0)
    st.figures->late_windows() += static_cast<int64_t>(late);
  pending_batch effects;
  effects.seq = st.next_seq++;
  effects.topic = topic;
  effects.last_offset = last;
  if (st.cfg.graph->persist) {
    effects.changes.reserve(batch.changes().size());
    for (const auto& [key, value] : batch.changes())
      effects.changes.push_back({key, batch.before(key), value});
  }
  for (auto s : production_order)
    for (const auto& [key, value] : batch.side_changes(s))
      effects.changes_of(s).push_back({key, batch.side_before(s, key), value});
  for (auto& e : ctx.emits())
    effects.outputs.push_back({*e.topic, std::move(e.key), std::move(e.value),
                               std::move(e.headers)});
  if (!effects.changes.empty() || !effects.outputs.empty() || effects.has_side_changes())
    batch.put_pending(effects.seq, effects.encode());
  commit_meta(st, batch);
  crash_point("after-commit");
  send_effects(self, effects, fetched_at);
  st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  if (!effects.changes_of(side::timers).empty()) {
    st.figures->count_timers(st.store->side_size(side::timers));
    arm_timers(self);
  }
}

namespace {

effects_target target_of(const partition_state& st) {
  const auto& graph = *st.cfg.graph;
  return {*st.cfg.producer, graph.persist ? &st.table_topic : nullptr, st.cfg.partition,
          st.writer, graph.timer || graph.window};
}

/// The acknowledgement of `count` changelog records of batch `seq`, expected at `expected`,
/// which moves on past them.
batch_ack* ack_for(partition_self self, uint64_t seq, int64_t& expected, int64_t count,
                   std::optional<side> of = std::nullopt) {
  auto* ack = new batch_ack{caf::actor_cast<caf::actor>(self), seq, expected, count, of};
  expected += count;
  return ack;
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
    for (const auto& o : b.batch.outputs)
      ++st.figures->emitted(o.topic);
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
    auto first = next_side(next.batch, std::nullopt);
    if (!first) {
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
    int64_t none = 0;
    produce_outputs(target_of(st), b, ack_for(self, b.seq, none, 0, *first));
    for (const auto& o : b.outputs)
      ++st.figures->emitted(o.topic);
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


void commit_meta(partition_state& st, partition_store::write_batch& batch) {
  for (auto seq : st.forget)
    batch.erase_pending(seq);
  if (st.wrote)
    batch.set_meta(meta::epoch_seen, st.writer.epoch);
  for (const auto& [topic, offset] : st.tracker.watermarks())
    batch.set_meta(meta::acked(topic), offset);
  batch.set_meta(meta::changelog, st.changelog_next);
  for (auto s : production_order) {
    const auto& log = st.sides[static_cast<unsigned>(s)];
    if (log.kept())
      batch.set_meta(meta::side_changelog(s), log.next);
    if (log.wrote)
      batch.set_meta(meta::side_epoch_seen(s), st.writer.epoch);
  }
  batch.commit();
  st.forget.clear(); // only once they are gone from the store
}

void save_meta(partition_state& st) {
  partition_store::write_batch batch{*st.store};
  commit_meta(st, batch);
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

/// Runs the behaviors over a batch, in one LMDB transaction. A record that fails is handled by
/// the poison policy: the records before it are kept, then the partition fails (to be
/// restarted, or stopped), or the record goes to the dead-letter topic and the batch goes on.
void process(partition_self self, const record_batch& in) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  const auto* input = graph.input(in.topic);
  if (input == nullptr)
    throw std::logic_error("records of " + in.topic + ", which is not an input");
  auto& applied = st.applied.try_emplace(in.topic, -1).first->second;
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, in.topic, batch, st.cfg.tables.get()};
  ctx.set_now(st.cfg.clock());
  int64_t last = -1;
  uint64_t count = 0;
  for (const auto* m : in.records) {
    // Never apply a record twice: the consumer may start before what the state holds.
    if (m->offset <= applied)
      continue;
    ctx.set_record(m);
    if (auto error = run_record(ctx, *input)) {
      auto where = record_name(ctx);
      auto attempts = earlier_failures(st, in.topic, m->offset) + 1;
      if (st.cfg.on_poison == poison_policy::dead_letter && attempts > st.cfg.poison_retries) {
        st.log->warn("[{}] partition {}: {} failed {} times; sent to {}: {}", graph.group,
                     st.cfg.partition, where, attempts, st.dead_letter_topic, *error);
        dead_letter(ctx, st.dead_letter_topic, *error);
        ++st.figures->dead_lettered(in.topic);
        last = m->offset; // handled, though not applied
        continue;
      }
      // Keep what the records before it did, and count the attempt.
      batch.set_meta(meta::poison(in.topic), m->offset);
      batch.set_meta(meta::poison_attempts(in.topic), attempts);
      if (last >= 0) {
        applied = last;
        batch.set_meta(meta::applied(in.topic), applied);
      }
      commit_batch(self, in.topic, batch, ctx, last, in.fetched_at);
      *st.cfg.records += count;
      st.figures->processed(in.topic) += static_cast<int64_t>(count);
      throw poison_error(where + " failed (attempt " + std::to_string(attempts) + "): " + *error,
                         st.cfg.on_poison == poison_policy::stop_partition);
    }
    last = m->offset;
    ++count;
  }
  if (last < 0)
    return;
  applied = last;
  batch.set_meta(meta::applied(in.topic), applied);
  commit_batch(self, in.topic, batch, ctx, last, in.fetched_at);
  *st.cfg.records += count;
  st.figures->processed(in.topic) += static_cast<int64_t>(count);
}

hold hold_reason(const partition_state& st) {
  if (st.cfg.lease && !st.cfg.lease->valid())
    return hold::lease;
  if (st.cfg.tables && !st.cfg.tables->ready(st.cfg.partition))
    return hold::tables;
  return hold::none;
}

/// Looks again in a while why the partition holds its records (lease_atom).
void look_again(partition_self self, hold reason) {
  self->delayed_send(self,
                     reason == hold::lease ? std::chrono::milliseconds{100}
                                           : std::chrono::milliseconds{20},
                     lease_atom::value);
}

/// False while the partition holds its records (hold_reason()).
bool may_write(partition_self self) {
  auto& st = self->state;
  if (st.holding)
    return false;
  auto reason = hold_reason(st);
  if (reason == hold::none)
    return true;
  st.holding = true;
  if (reason == hold::lease)
    st.log->warn("[{}] partition {}: the group has not confirmed this member for {} ms; "
                 "holding its records until it does (or the partition is revoked)",
                 st.cfg.graph->group, st.cfg.partition, st.cfg.lease->duration().count());
  else
    st.log->info("[{}] partition {}: holding its records until tables {} are recovered",
                 st.cfg.graph->group, st.cfg.partition,
                 st.cfg.tables->waiting_for(st.cfg.partition));
  look_again(self, reason);
  return false;
}

} // namespace partita::detail
