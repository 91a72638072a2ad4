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

/// Undoes the pending batches, latest first: each key back to its value before them, each input
/// back to the last offset acknowledged or of the batches `kept` (pending before them).
void roll_back(partition_store& store, const std::vector<pending_batch>& pending,
               const std::vector<std::string>& inputs,
               const std::vector<pending_batch>& kept = {}) {
  partition_store::write_batch batch{store};
  std::map<std::string, std::optional<std::string>> restored;
  std::array<std::map<std::string, std::optional<std::string>>, side_count> side_values;
  for (auto b = pending.rbegin(); b != pending.rend(); ++b) {
    for (const auto& c : b->changes)
      restored[c.key] = c.before;
    for (std::size_t s = 0; s < side_count; ++s)
      for (const auto& c : b->side_changes[s])
        side_values[s][c.key] = c.before;
    batch.erase_pending(b->seq);
  }
  for (const auto& [key, value] : restored)
    batch.set(key, value);
  for (std::size_t s = 0; s < side_count; ++s)
    for (const auto& [key, value] : side_values[s])
      batch.set_side(static_cast<side>(s), key, value);
  for (const auto& topic : inputs) {
    auto applied = store.meta(meta::acked(topic)).value_or(-1);
    for (const auto& b : kept)
      if (b.topic == topic)
        applied = std::max(applied, b.last_offset);
    batch.set_meta(meta::applied(topic), applied);
  }
  batch.set_meta(meta::deferred_from, -1); // every batch held by a commit handle is undone
  batch.commit();
}

/// Undoes the batches held by commit handles never called (deferred_commits.hpp), and every
/// batch after them: their records are processed again. Returns how many.
std::size_t undo_held(partition_store& store, std::vector<pending_batch>& pending,
                      const std::vector<std::string>& inputs) {
  auto from = store.meta(meta::deferred_from).value_or(-1);
  if (from < 0)
    return 0;
  auto held = std::find_if(pending.begin(), pending.end(),
                           [&](const auto& b) { return b.seq >= static_cast<uint64_t>(from); });
  std::vector<pending_batch> undone{std::make_move_iterator(held),
                                    std::make_move_iterator(pending.end())};
  pending.erase(held, pending.end());
  roll_back(store, undone, inputs, pending);
  return undone.size();
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
                          const changelog_source& read, const side_sources& sides,
                          int32_t generation) {
  handover_result out;
  bool from_0_1 = !store.meta(meta::writer); // Partita 0.1 kept no writer id
  out.writer.store = writer_of(store);
  auto pending = pending_of(store);
  out.rolled_back = undo_held(store, pending, inputs);
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
  bool stale = false;
  auto go_stale = [&] {
    // Another writer wrote a changelog since the store's position: the store is stale.
    if (stale)
      return;
    stale = true;
    roll_back(store, pending, inputs);
    out.rolled_back += pending.size();
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
  // The side changelogs after the table's, timers then windows: a checkpoint's `then` names
  // a changelog read before it.
  std::array<reading, side_count> side_logs;
  auto confirm = [&](const std::string& then, const writer_id& w, int64_t n) {
    if (then == "table")
      return table.replay->counted(w, n);
    for (std::size_t s = 0; s < side_count; ++s)
      if (then == side_name(static_cast<side>(s)))
        return side_logs[s].replay && side_logs[s].replay->counted(w, n);
    return false; // a changelog this version does not know: never confirmed
  };
  auto replay_now = [&](reading& r, const std::function<changelog_replay()>& make) {
    if (r.replay)
      return;
    r.replay.emplace(make()); // its own held records count now
    r.replay->apply(r.held);
    r.held.clear();
  };
  for (std::size_t i = 0; i < side_count; ++i) {
    if (sides[i] == nullptr)
      continue;
    auto s = static_cast<side>(i);
    auto make = [&, s] {
      // Once a side changelog is stale, the changelogs read before it count their own
      // records too, for the confirmations.
      replay_now(table, make_table);
      for (std::size_t j = 0; j < i; ++j)
        if (sides[j] != nullptr)
          replay_now(side_logs[j], [&, j] {
            return changelog_replay::of_side(store, static_cast<side>(j), confirm);
          });
      return changelog_replay::of_side(store, s, confirm);
    };
    int64_t from_side = store.meta(meta::side_changelog(s)).value_or(0);
    out.sides[i].end = read_one(side_logs[i], *sides[i], from_side, make);
    if (stale) // another changelog is stale: this one's own records count too
      replay_now(side_logs[i], make);
  }
  {
    partition_store::write_batch look{store};
    if (table.replay)
      for (auto& key : table.replay->repair_keys()) {
        auto now = look.get(key);
        out.repair.push_back({std::move(key), std::nullopt, std::move(now)});
      }
    for (std::size_t i = 0; i < side_count; ++i)
      if (side_logs[i].replay)
        for (auto& key : side_logs[i].replay->repair_keys()) {
          auto now = look.get_side(static_cast<side>(i), key);
          out.sides[i].repair.push_back({std::move(key), std::nullopt, std::move(now)});
        }
  }
  int64_t own_epoch = table.own_epoch;
  int64_t epoch_seen = store.meta(meta::epoch_seen).value_or(0);
  for (std::size_t i = 0; i < side_count; ++i) {
    own_epoch = std::max(own_epoch, side_logs[i].own_epoch);
    epoch_seen =
      std::max(epoch_seen, store.meta(meta::side_epoch_seen(static_cast<side>(i))).value_or(0));
  }
  epoch_seen = std::max(epoch_seen, own_epoch);
  auto tally = [&](const reading& r) {
    if (!r.replay)
      return;
    epoch_seen = std::max(epoch_seen, r.replay->epoch_seen());
    out.superseded += r.replay->superseded();
    out.left_out += r.replay->left_out() + r.replay->unvouched();
  };
  tally(table);
  for (const auto& r : side_logs)
    tally(r);
  out.writer.epoch =
    next_epoch(std::max(epoch_seen, store.meta(meta::epoch).value_or(0)), generation);
  {
    partition_store::write_batch batch{store};
    batch.set_meta(meta::epoch, out.writer.epoch);
    batch.commit();
  }
  for (const auto& topic : inputs)
    out.applied[topic] = store.meta(meta::applied(topic)).value_or(-1);
  out.writer.base = store.meta(meta::changelog).value_or(0);
  for (std::size_t i = 0; i < side_count; ++i)
    out.sides[i].base = store.meta(meta::side_changelog(static_cast<side>(i))).value_or(0);
  out.resend = std::move(pending);
  return out;
}

} // namespace partita
