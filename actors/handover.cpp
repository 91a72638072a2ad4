#include "actors/handover.hpp"

#include "actors/changelog_replay.hpp"
#include "actors/partition_meta.hpp"

#include <algorithm>
#include <optional>
#include <random>

namespace partita {

namespace {

int64_t writer_of(partition_store& store) {
  if (auto id = store.meta(meta::writer))
    return *id;
  std::random_device rd;
  std::uniform_int_distribution<int64_t> pick{1, std::numeric_limits<int64_t>::max()};
  auto id = pick(rd);
  partition_store::write_batch batch{store};
  batch.set_meta(meta::writer, id);
  batch.commit();
  return id;
}

/// Undoes the pending batches, latest first: each key back to its value before them.
void roll_back(partition_store& store, const std::vector<pending_batch>& pending,
               const std::vector<std::string>& inputs) {
  partition_store::write_batch batch{store};
  std::map<std::string, std::optional<std::string>> restored;
  std::map<std::string, std::optional<std::string>> timers;
  for (auto b = pending.rbegin(); b != pending.rend(); ++b) {
    for (const auto& c : b->changes)
      restored[c.key] = c.before;
    for (const auto& c : b->timer_changes)
      timers[c.key] = c.before;
    batch.erase_pending(b->seq);
  }
  for (const auto& [key, value] : restored)
    batch.set(key, value);
  for (const auto& [key, value] : timers)
    batch.set_timer(key, value);
  for (const auto& topic : inputs)
    batch.set_meta(meta::applied(topic), store.meta(meta::acked(topic)).value_or(-1));
  batch.commit();
}

std::vector<pending_batch> pending_of(const partition_store& store) {
  std::vector<pending_batch> pending;
  store.for_each_pending([&](uint64_t seq, std::string_view bytes) {
    pending.push_back(pending_batch::decode(seq, bytes));
  });
  return pending;
}

} // namespace

std::size_t roll_back_pending(partition_store& store, const std::vector<std::string>& inputs) {
  auto pending = pending_of(store);
  if (!pending.empty())
    roll_back(store, pending, inputs);
  return pending.size();
}

handover_result take_over(partition_store& store, const std::vector<std::string>& inputs,
                          const changelog_source& read, const changelog_source* timers) {
  handover_result out;
  bool from_0_1 = !store.meta(meta::writer); // Partita 0.1 kept no writer id
  out.writer.store = writer_of(store);
  auto pending = pending_of(store);
  int64_t from = store.meta(meta::changelog).value_or(0);
  bool legacy_window = from_0_1 && std::any_of(inputs.begin(), inputs.end(), [&](auto& t) {
    return store.meta(meta::applied(t)).value_or(-1) > store.meta(meta::acked(t)).value_or(-1);
  });
  if (legacy_window) {
    // Partita 0.1 kept no pending batches: the table holds effects that cannot be undone.
    store.clear();
    partition_store::write_batch reset{store};
    for (const auto& topic : inputs)
      reset.set_meta(meta::applied(topic), store.meta(meta::acked(topic)).value_or(-1));
    reset.set_meta(meta::changelog, 0);
    reset.commit();
    from = 0;
    out.taken = handover_result::path::rebuilt;
  }

  // One changelog read: this store's own records are held back until another writer's
  // appears; from then on (or once `stale` is set) everything goes to `replay`.
  struct reading {
    std::vector<changelog_record> held;
    int64_t own_epoch = 0;
    std::optional<changelog_replay> replay;
  };
  std::optional<changelog_replay> table_replay;
  bool stale = false;
  auto go_stale = [&] {
    // Another writer wrote a changelog since the store's position: the store is stale.
    if (stale)
      return;
    stale = true;
    roll_back(store, pending, inputs);
    out.rolled_back = pending.size();
    pending.clear();
    if (out.taken == handover_result::path::current)
      out.taken = handover_result::path::rolled_back;
  };
  auto read_one = [&](reading& r, const changelog_source& source, int64_t start,
                      const std::function<changelog_replay()>& make) {
    return source(start, [&](std::vector<changelog_record>& chunk) {
      out.records += chunk.size();
      std::vector<changelog_record> others;
      if (r.replay) {
        others = std::move(chunk);
      } else {
        for (auto& rec : chunk) {
          if (others.empty() && rec.writer.store == out.writer.store) {
            r.own_epoch = std::max(r.own_epoch, rec.writer.epoch);
            r.held.push_back(std::move(rec));
          } else {
            others.push_back(std::move(rec));
          }
        }
        if (others.empty())
          return;
        go_stale();
        r.replay.emplace(make());
        r.replay->apply(r.held);
        r.held.clear();
      }
      r.replay->apply(others);
    });
  };
  auto make_table = [&] { return changelog_replay{store}; };
  reading table;
  out.changelog_end = read_one(table, read, from, make_table);
  reading timer_log;
  auto make_timers = [&] {
    if (!table.replay) { // the table was current: its own held records count now
      table.replay.emplace(store);
      table.replay->apply(table.held);
      table.held.clear();
    }
    return changelog_replay::of_timers(store, [&](const writer_id& w, int64_t n) {
      return table.replay->counted(w, n);
    });
  };
  if (timers != nullptr) {
    int64_t timers_from = store.meta(meta::timers_changelog).value_or(0);
    out.timers_end = read_one(timer_log, *timers, timers_from, make_timers);
    if (stale && !timer_log.replay) { // the table is stale: the timers' own records count too
      timer_log.replay.emplace(make_timers());
      timer_log.replay->apply(timer_log.held);
      timer_log.held.clear();
    }
  }
  if (timer_log.replay)
    for (auto& key : timer_log.replay->left_out_keys()) {
      partition_store::write_batch look{store};
      auto now = look.get_timer(key);
      out.timers_repair.push_back({std::move(key), std::nullopt, std::move(now)});
    }
  auto own_epoch = std::max(table.own_epoch, timer_log.own_epoch);
  int64_t epoch_seen = std::max(store.meta(meta::epoch_seen).value_or(0), own_epoch);
  epoch_seen = std::max(epoch_seen, store.meta(meta::timers_epoch_seen).value_or(0));
  for (auto* r : {&table, &timer_log})
    if (r->replay) {
      epoch_seen = std::max(epoch_seen, r->replay->epoch_seen());
      out.superseded += r->replay->superseded();
      out.left_out += r->replay->left_out() + r->replay->unvouched();
    }
  out.writer.epoch = std::max(epoch_seen, store.meta(meta::epoch).value_or(0)) + 1;
  {
    partition_store::write_batch batch{store};
    batch.set_meta(meta::epoch, out.writer.epoch);
    batch.commit();
  }
  for (const auto& topic : inputs)
    out.applied[topic] = store.meta(meta::applied(topic)).value_or(-1);
  out.writer.base = store.meta(meta::changelog).value_or(0);
  out.timers_base = store.meta(meta::timers_changelog).value_or(0);
  out.resend = std::move(pending);
  return out;
}

} // namespace partita
