#pragma once

// How the engine keeps a partition's timers: in the store's timers database and in the
// changelog `<group>-timers`, under the same key and value. Engine internals.
//
//   key    16 bytes: the due time (ms since the epoch) and the timer's number, big-endian, so
//          that the store's key order is the firing order
//   value  8 bytes of the user key's length, the user key, then the payload's bytes
//
// Keys starting with '\0' and longer than 16 bytes are the engine's markers in the changelog
// (owner_marker), never timers.

#include "runtime/timer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace partita {

std::string encode_timer_key(const timer_id& id);
/// nullopt for a key that is no timer's (a marker).
std::optional<timer_id> decode_timer_key(std::string_view key);

struct timer_entry {
  std::string key;     // the user key the timer fires for
  std::string payload; // encoded by the graph's timer codec
};
std::string encode_timer_value(std::string_view key, std::string_view payload);
/// Throws std::invalid_argument for bytes that are no timer's.
timer_entry decode_timer_value(std::string_view bytes);

/// The key of the record a new owner writes to each side changelog (`<group>-timers`,
/// `<group>-windows`) when it takes a partition:
/// it carries the owner's writer header (its base in that changelog), so that every later
/// reader knows where the previous owner's records stopped counting. One per owner: never
/// compacted away by a later owner's.
std::string owner_marker(int64_t store, int64_t epoch);
bool is_owner_marker(std::string_view key);

/// A number for the n-th timer a record (or a firing timer) schedules: the same when the
/// record runs again.
uint64_t timer_number(std::string_view source, uint64_t n);

} // namespace partita
