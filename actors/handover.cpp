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
  for (auto b = pending.rbegin(); b != pending.rend(); ++b) {
    for (const auto& c : b->changes)
      restored[c.key] = c.before;
    batch.erase_pending(b->seq);
  }
  for (const auto& [key, value] : restored)
    batch.set(key, value);
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
                          const changelog_source& read) {
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

  std::vector<changelog_record> held; // this writer's own records, before any other's
  int64_t own_epoch = 0;
  std::optional<changelog_replay> replay;
  out.changelog_end = read(from, [&](std::vector<changelog_record>& chunk) {
    out.records += chunk.size();
    std::vector<changelog_record> others;
    if (replay) {
      others = std::move(chunk);
    } else {
      for (auto& r : chunk) {
        if (others.empty() && r.writer.store == out.writer.store) {
          own_epoch = std::max(own_epoch, r.writer.epoch);
          held.push_back(std::move(r));
        } else {
          others.push_back(std::move(r));
        }
      }
      if (others.empty())
        return;
    }
    auto& records = others;
    if (!replay) {
      // Another writer wrote this changelog since the store's position: the store is stale.
      roll_back(store, pending, inputs);
      out.rolled_back = pending.size();
      pending.clear();
      if (out.taken == handover_result::path::current)
        out.taken = handover_result::path::rolled_back;
      replay.emplace(store);
      replay->apply(held);
      held.clear();
    }
    replay->apply(records);
  });
  int64_t epoch_seen = std::max(store.meta(meta::epoch_seen).value_or(0), own_epoch);
  if (replay) {
    epoch_seen = std::max(epoch_seen, replay->epoch_seen());
    out.superseded = replay->superseded();
    out.left_out = replay->left_out() + replay->unvouched();
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
  out.resend = std::move(pending);
  return out;
}

} // namespace partita
