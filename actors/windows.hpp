#pragma once

// A group's windowed table (graph.windowed; docs/time.md), as a batch changes it. Engine
// internals. The aggregates live in the store's side table `windows` and in the changelog
// `<group>-windows`, under the same key and value:
//
//   key    8 bytes of the window's start (ms since the epoch, big-endian, its sign bit
//          flipped), then the user key: the store's key order is the windows' order in time
//   value  the aggregate, encoded by the window codec
//
// Keys starting with '\0' are the engine's: the owner markers (owner_marker) and the
// partition's stream time ("\0partita.stream-time", its value in decimal), which a new owner
// reads from the changelog with the aggregates.

#include "persistence/partition_store.hpp"
#include "runtime/graph_definition.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partita {

std::string encode_window_key(int64_t start, std::string_view key);
/// The window's start and the user key; nullopt for an engine key.
std::optional<std::pair<int64_t, std::string_view>> decode_window_key(std::string_view key);
/// The key of the partition's stream time in the windows side table.
std::string_view stream_time_key();

/// The starts of the windows of `spec` that `event_ms` falls in, latest first.
std::vector<int64_t> window_starts(const window_spec& spec, int64_t event_ms);

/// The windowed table as one batch sees and changes it, record by record: a record's updates
/// are kept apart until it succeeds (keep()), as the engine context keeps a record's table
/// change; close() ends the batch.
class window_batch {
public:
  using update_fn = std::function<std::string(const std::optional<std::string>&)>;
  /// What close() emits: the window, the user key and the final aggregate.
  using emit_fn = std::function<void(window_bounds, std::string_view key, std::string_view value)>;

  window_batch(const window_definition& def, partition_store::write_batch& batch);

  /// Updates the windows of `key` that `event_ms` falls in (throws graph_error for a time
  /// below 0: a record without a timestamp). A window already closed is not updated: it is
  /// counted late (late()) and named in late_note().
  void update(std::string_view key, int64_t event_ms, const update_fn& update);
  /// The record succeeded: its updates join the batch.
  void keep();
  /// The record failed: forget its updates.
  void drop();
  /// Windows the current record came too late for, and a note naming the first.
  uint64_t record_late() const { return record_late_; }
  const std::string& late_note() const { return late_note_; }
  /// Late windows of the records kept.
  uint64_t late() const { return late_; }

  /// Ends the batch: emits the final aggregate of every window the stream time passed the
  /// end plus grace of in this batch, then deletes the windows past their retention.
  void close(const emit_fn& emit);

private:
  int64_t stream_time();

  const window_definition& def_;
  partition_store::write_batch& batch_;
  std::optional<int64_t> stream_time_;   // as kept, once read (INT64_MIN: none yet)
  std::optional<int64_t> begin_time_;    // as the batch found it
  int64_t record_time_ = 0;              // the current record's stream time
  bool record_active_ = false;           // the current record updated windows
  std::vector<std::pair<std::string, std::string>> record_updates_;
  uint64_t record_late_ = 0;
  uint64_t late_ = 0;
  std::string late_note_;
};

/// The windows of `key` kept in `store`, oldest first, with their aggregates, and whether
/// each is closed (final), as the partition's stream time says.
std::vector<window_entry> windows_of(const partition_store& store, const window_definition& def,
                                   std::string_view key);

} // namespace partita
