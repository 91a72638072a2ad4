#pragma once

// Timers due in a partition's store, and the firing of one: the one place a timer fires, for
// the partition actor (partition_timers.cpp) and the tester (tester_engine.hpp).

#include "actors/engine_context.hpp"

#include <optional>
#include <string>
#include <vector>

namespace partita::detail {

/// A timer due to fire, read from the store.
struct due_timer {
  std::string timer_key;
  timer_id id;
  timer_entry entry;
};

/// The timers due at `now_ms` (at most `limit`), in firing order.
inline std::vector<due_timer> due_timers(const partition_store& store, int64_t now_ms,
                                         std::size_t limit) {
  std::vector<due_timer> out;
  store.scan_side(side::timers, {}, [&](std::string_view k, std::string_view v) {
    auto id = decode_timer_key(k);
    if (!id || id->due_ms > now_ms || out.size() >= limit)
      return false;
    out.push_back(due_timer{std::string{k}, *id, decode_timer_value(v)});
    return true;
  });
  return out;
}

/// When the first timer of the store is due, if it has one.
inline std::optional<int64_t> next_due(const partition_store& store) {
  std::optional<int64_t> due;
  store.scan_side(side::timers, {}, [&](std::string_view k, std::string_view) {
    if (auto id = decode_timer_key(k))
      due = id->due_ms;
    return false;
  });
  return due;
}

/// Fires one due timer: its behavior runs with the timer's key and payload, and the timer is
/// erased with what the behavior did. A behavior that fails leaves nothing behind (the timer
/// stays) and its error is returned. The one place a timer fires, for the partition actor and
/// the tester.
inline std::optional<std::string> fire_timer(engine_context& ctx, partition_store::write_batch& batch,
                                             const timer_definition& timer, const due_timer& t,
                                             int32_t partition) {
  if (!batch.get_side(side::timers, t.timer_key)) // cancelled by a timer fired before it in this batch
    return std::nullopt;
  ctx.set_timer_record(engine_record{t.entry.key, t.entry.payload, partition, -1, t.id.due_ms,
                                     nullptr, nullptr},
                       t.timer_key);
  try {
    timer.handle(ctx);
    ctx.keep();
    batch.set_side(side::timers, t.timer_key, std::nullopt);
    return std::nullopt;
  } catch (const std::exception& e) {
    ctx.drop();
    return std::string{e.what()};
  }
}

} // namespace partita::detail
