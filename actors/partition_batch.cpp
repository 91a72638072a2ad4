#include "actors/partition_batch.hpp"

#include "actors/engine_context.hpp"
#include "actors/partition_meta.hpp"
#include "runtime/crash_point.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

namespace partita::detail {

namespace {

/// The record of `topic` whose deferred work failed more often than the dead-letter policy
/// retries (-1: none): it is dead-lettered without running again.
int64_t spent_record(const partition_state& st, const std::string& topic) {
  if (st.cfg.on_poison != poison_policy::dead_letter)
    return -1;
  auto offset = st.store->meta(meta::poison(topic)).value_or(-1);
  return offset >= 0 && earlier_failures(st, topic, offset) > st.cfg.poison_retries ? offset : -1;
}

/// max_deferred records wait for their commit handles: the partition takes no more.
bool deferred_full(const partition_state& st) {
  return st.deferred.open() >= st.cfg.max_deferred;
}

} // namespace

int64_t earlier_failures(const partition_state& st, const std::string& topic, int64_t offset) {
  if (st.store->meta(meta::poison(topic)).value_or(-1) != offset)
    return 0;
  return st.store->meta(meta::poison_attempts(topic)).value_or(0);
}

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
  // A batch held by commit handles is pending even without effects: undone if they are not
  // called before the next start (and named to the store as held in this transaction).
  bool held = !ctx.deferred().empty();
  if (held)
    st.deferred.hold(effects.seq, ctx.deferred());
  if (held || !effects.changes.empty() || !effects.outputs.empty() || effects.has_side_changes())
    batch.put_pending(effects.seq, effects.encode());
  commit_meta(st, batch);
  crash_point("after-commit");
  send_effects(self, effects, fetched_at);
  st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  if (!effects.changes_of(side::timers).empty()) {
    st.figures->count_timers(st.store->side_size(side::timers));
    arm_timers(self);
    arm_visits(self);
  }
}

void commit_meta(partition_state& st, partition_store::write_batch& batch) {
  for (auto seq : st.forget)
    batch.erase_pending(seq);
  if (st.wrote)
    batch.set_meta(meta::epoch_seen, st.writer.epoch);
  for (const auto& [topic, offset] : st.tracker.watermarks())
    batch.set_meta(meta::acked(topic), offset);
  batch.set_meta(meta::changelog, st.changelog_next);
  if (st.deferred.used())
    batch.set_meta(meta::deferred_from,
                   st.deferred.first_held() ? static_cast<int64_t>(*st.deferred.first_held()) : -1);
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

/// Runs the behaviors over a batch, in one LMDB transaction. A record that fails is handled by
/// the poison policy: the records before it are kept, then the partition fails (to be
/// restarted, or stopped), or the record goes to the dead-letter topic and the batch goes on.
bool process(partition_self self, const record_batch& in) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  const auto* input = graph.input(in.topic);
  bool visits = input == nullptr && !graph.visitors.empty() && in.topic == st.visits_topic;
  if (input == nullptr && !visits)
    throw std::logic_error("records of " + in.topic + ", which is not an input");
  auto& applied = st.applied.try_emplace(in.topic, -1).first->second;
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, in.topic, batch, st.cfg.tables.get()};
  ctx.set_now(st.cfg.clock());
  ctx.set_deferrals(&st.deferred);
  int64_t last = -1;
  uint64_t count = 0;
  bool whole = true;
  auto spent = spent_record(st, in.topic);
  for (const auto* m : in.records) {
    // Never apply a record twice: the consumer may start before what the state holds.
    if (m->offset <= applied)
      continue;
    if (deferred_full(st)) {
      whole = false; // the rest once handles are called
      break;
    }
    ctx.set_record(m);
    if (auto error = m->offset == spent ? std::optional<std::string>{"its deferred work failed"}
                     : visits           ? begin_visit(st, ctx, batch)
                                        : run_record(ctx, *input)) {
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
    return whole;
  applied = last;
  batch.set_meta(meta::applied(in.topic), applied);
  commit_batch(self, in.topic, batch, ctx, last, in.fetched_at);
  *st.cfg.records += count;
  st.figures->processed(in.topic) += static_cast<int64_t>(count);
  if (st.deferred.used())
    st.figures->count_deferred(st.deferred.open());
  return whole;
}

hold hold_reason(const partition_state& st) {
  if (st.cfg.lease && !st.cfg.lease->valid())
    return hold::lease;
  if (st.cfg.tables && !st.cfg.tables->ready(st.cfg.partition))
    return hold::tables;
  if (deferred_full(st))
    return hold::deferred;
  return hold::none;
}

/// Looks again in a while why the partition holds its records (lease_atom).
void look_again(partition_self self, hold reason) {
  if (reason == hold::deferred)
    return; // on_deferred() looks again when a handle is called
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
  st.holding_quietly = reason == hold::deferred;
  if (reason == hold::lease)
    st.log->warn("[{}] partition {}: the group has not confirmed this member for {} ms; "
                 "holding its records until it does (or the partition is revoked)",
                 st.cfg.graph->group, st.cfg.partition, st.cfg.lease->duration().count());
  else if (reason == hold::tables)
    st.log->info("[{}] partition {}: holding its records until tables {} are recovered",
                 st.cfg.graph->group, st.cfg.partition,
                 st.cfg.tables->waiting_for(st.cfg.partition));
  else
    st.log->debug("[{}] partition {}: {} records wait for their commit handles (max_in_flight); "
                  "holding the next until handles are called",
                  st.cfg.graph->group, st.cfg.partition, st.deferred.open());
  look_again(self, reason);
  return false;
}

} // namespace partita::detail
