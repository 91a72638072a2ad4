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
  pending_batch effects;
  effects.seq = st.next_seq++;
  effects.topic = topic;
  effects.last_offset = last;
  if (st.cfg.graph->persist) {
    effects.changes.reserve(batch.changes().size());
    for (const auto& [key, value] : batch.changes())
      effects.changes.push_back({key, batch.before(key), value});
  }
  for (const auto& [key, value] : batch.timer_changes())
    effects.timer_changes.push_back({key, batch.timer_before(key), value});
  for (auto& e : ctx.emits())
    effects.outputs.push_back({*e.topic, std::move(e.key), std::move(e.value),
                               std::move(e.headers)});
  if (!effects.changes.empty() || !effects.outputs.empty() || !effects.timer_changes.empty())
    batch.put_pending(effects.seq, effects.encode());
  commit_meta(st, batch);
  crash_point("after-commit");
  send_effects(self, effects, fetched_at);
  st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  if (!effects.timer_changes.empty()) {
    st.figures->count_timers(st.cfg.partition, st.store->timer_count());
    arm_timers(self);
  }
}

namespace {

effects_target target_of(const partition_state& st) {
  const auto& graph = *st.cfg.graph;
  return {*st.cfg.producer, graph.persist ? &st.table_topic : nullptr, st.cfg.partition,
          st.writer, graph.timer ? &st.timers_topic : nullptr, st.timers_writer};
}

/// The acknowledgement of `count` changelog records of batch `seq`, expected at `expected`,
/// which moves on past them.
batch_ack* ack_for(partition_self self, uint64_t seq, int64_t& expected, int64_t count,
                   bool timers) {
  auto* ack = new batch_ack{caf::actor_cast<caf::actor>(self), seq, expected, count, timers};
  expected += count;
  return ack;
}

/// Produces a batch's table records and outputs.
void produce_rest(partition_self self, const unsent_batch& b) {
  auto& st = self->state;
  auto count = st.cfg.graph->persist ? static_cast<int64_t>(b.batch.changes.size()) : 0;
  auto* ack = ack_for(self, b.batch.seq, st.changelog_expected, count, false);
  ++st.producing;
  produce_effects(target_of(st), b.batch, b.number, ack);
  if (count > 0)
    st.figures->emitted(st.table_topic) += count;
  for (const auto& o : b.batch.outputs)
    ++st.figures->emitted(o.topic);
}

} // namespace

void send_unsent(partition_self self) {
  auto& st = self->state;
  while (!st.unsent.empty() && !st.timers_in_flight && !st.abandoned) {
    if (st.cfg.lease && !st.cfg.lease->valid()) {
      // Nothing is produced on a lease that ran out: look again once it may be renewed.
      self->delayed_send(self, std::chrono::milliseconds{100}, lease_atom::value);
      return;
    }
    auto& next = st.unsent.front();
    if (next.batch.timer_changes.empty()) {
      next.number = ++st.batch_no;
      produce_rest(self, next);
      st.unsent.pop_front();
      continue;
    }
    if (st.producing > 0) // every batch before it first
      return;
    next.number = ++st.batch_no;
    auto count = static_cast<int64_t>(next.batch.timer_changes.size());
    auto* ack = ack_for(self, next.batch.seq, st.timers_expected, count, true);
    st.timers_in_flight = std::move(next);
    st.unsent.pop_front();
    produce_timer_changes(target_of(st), st.timers_in_flight->batch,
                          st.timers_in_flight->number, ack);
    st.figures->emitted(st.timers_topic) += count;
  }
}

void on_timers_acked(partition_self self, int64_t timers_last) {
  auto& st = self->state;
  auto b = std::move(*st.timers_in_flight);
  st.timers_in_flight.reset();
  st.timers_acked[b.batch.seq] = timers_last;
  crash_point("after-timers");
  if (b.batch.topic.empty() && !b.batch.changes.empty())
    crash_point("after-fired-timers"); // timers fired: erased in the changelog, the table not
  produce_rest(self, b);
  send_unsent(self);
}

void commit_meta(partition_state& st, partition_store::write_batch& batch) {
  for (auto seq : st.forget)
    batch.erase_pending(seq);
  if (st.wrote)
    batch.set_meta(meta::epoch_seen, st.writer.epoch);
  for (const auto& [topic, offset] : st.tracker.watermarks())
    batch.set_meta(meta::acked(topic), offset);
  batch.set_meta(meta::changelog, st.changelog_next);
  if (st.cfg.graph->timer)
    batch.set_meta(meta::timers_changelog, st.timers_next);
  if (st.timers_wrote)
    batch.set_meta(meta::timers_epoch_seen, st.writer.epoch);
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
