// A partition actor's time (docs/time.md): when to wake up for its timers, the batches of timers
// fired, and the punctuation batches.
// Internal to the partition actor, beside its batch path (partition_batch.hpp).

#include "actors/due_timers.hpp"
#include "actors/partition_batch.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace partita::detail {

void arm_timers(partition_self self) {
  auto& st = self->state;
  if (!st.cfg.graph->timer || st.failure || st.drain || !st.restored)
    return;
  auto due = next_due(*st.store);
  if (!due || (st.wakeup_at && *st.wakeup_at <= *due))
    return;
  // At least once a second: a clock stepped forward (NTP) still fires timers on time.
  auto now = st.cfg.clock();
  auto delay = std::clamp<int64_t>(*due - now, 0, 1000);
  st.wakeup_at = now + delay;
  self->delayed_send(self, std::chrono::milliseconds{delay}, timer_atom::value);
}

void fire_due_timers(partition_self self) {
  auto& st = self->state;
  constexpr std::size_t chunk = 10000; // a batch at a time, between input batches
  if (fire_timers(self, chunk) == chunk) {
    st.wakeup_at = st.cfg.clock();
    self->send(self, timer_atom::value);
    return;
  }
  arm_timers(self);
}
std::size_t fire_timers(partition_self self, std::size_t limit) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  auto now = st.cfg.clock();
  auto due = due_timers(*st.store, now, limit);
  if (due.empty())
    return 0;
  const auto& timers = st.timers().topic;
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, timers, batch, st.cfg.tables.get()};
  ctx.set_now(now);
  std::size_t fired = 0;
  for (const auto& t : due) {
    auto error = fire_timer(ctx, batch, *graph.timer, t, st.cfg.partition);
    for (int attempt = 1; error && attempt <= st.cfg.poison_retries &&
                          st.cfg.on_poison == poison_policy::dead_letter;
         ++attempt)
      error = fire_timer(ctx, batch, *graph.timer, t, st.cfg.partition);
    if (error) {
      auto where = record_name(ctx) + ", timer " + t.id.to_string();
      if (st.cfg.on_poison != poison_policy::dead_letter) {
        commit_batch(self, "", batch, ctx, -1, std::chrono::steady_clock::now(), fired > 0);
        throw poison_error(where + " failed: " + *error,
                           st.cfg.on_poison == poison_policy::stop_partition);
      }
      st.log->warn("[{}] partition {}: {} failed {} times; sent to {}: {}", graph.group,
                   st.cfg.partition, where, st.cfg.poison_retries + 1, st.dead_letter_topic,
                   *error);
      dead_letter(ctx, st.dead_letter_topic, *error);
      ++st.figures->dead_lettered(timers);
      batch.set_side(side::timers, t.timer_key, std::nullopt);
    }
    ++fired;
  }
  commit_batch(self, "", batch, ctx, -1, std::chrono::steady_clock::now(), true);
  st.figures->processed(timers) += static_cast<int64_t>(fired);
  return fired;
}


void punctuate_partition(partition_self self, uint32_t index) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  auto now = st.cfg.clock();
  const auto& table = st.table_topic;
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, table, batch, st.cfg.tables.get()};
  ctx.set_now(now);
  std::optional<std::string> failed;
  visit_keys(ctx, *st.store, {}, graph.punctuations.at(index).handle, {}, st.cfg.partition, now,
             [](std::size_t) { return false; },
             [&](const std::string& key, const std::string& error) {
               auto where = "punctuation " + std::to_string(index) + " of key '" +
                            key.substr(0, 200) + "'";
               if (st.cfg.on_poison != poison_policy::dead_letter) {
                 if (!failed)
                   failed = where + " failed: " + error;
                 return true;
               }
               st.log->warn("[{}] partition {}: {} failed; sent to {}: {}", graph.group,
                            st.cfg.partition, where, st.dead_letter_topic, error);
               dead_letter(ctx, st.dead_letter_topic, error);
               ++st.figures->dead_lettered(table);
               return true;
             });
  commit_batch(self, "", batch, ctx, -1, std::chrono::steady_clock::now(), true);
  if (failed)
    throw poison_error(*failed, st.cfg.on_poison == poison_policy::stop_partition);
}

} // namespace partita::detail
