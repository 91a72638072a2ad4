#pragma once

// How Partita writes a group's changelog (`<group>-table`) and what it keeps of a batch until
// Kafka acknowledges it. The table topic holds only the keys behaviors wrote; what the engine
// needs travels in record headers:
//
//   partita.writer      on every record: "<store>.<epoch>.<base>", the store (a random id kept
//                       in the writing partition's LMDB), the owner's epoch (one more than any
//                       epoch in the changelog when that owner took the partition), and its
//                       base: the changelog offset its state was taken from (every record
//                       before it that the owner's state holds was vouched for then)
//   partita.checkpoint  on the last record of a batch: "<input topic>=<offset>", the last input
//                       offset whose effects the records up to here hold
//   partita.batch       beside the checkpoint: the batch's number, counted by each owner from 1
//
// A group with timers or windows writes changelogs of their own, `<group>-timers` and
// `<group>-windows` (docs/time.md), with the same headers. A batch that changes them writes
// its outputs, then its changelogs one after another — windows, timers, then the table — each
// once the one before is acknowledged, and each checkpoint but the last names the next in
// `partita.then` ("timers", "table"): it counts only once that one's checkpoint of the same
// batch number does.
//
// Changelogs of Partita 0.1 carried checkpoints as records of their own, keyed
// "\0partita.applied:<input topic>"; they are still read.

#include "persistence/partition_store.hpp"
#include "runtime/graph_definition.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace partita {

inline constexpr const char* writer_header = "partita.writer";
inline constexpr const char* checkpoint_header = "partita.checkpoint";
inline constexpr const char* batch_header = "partita.batch";
inline constexpr const char* then_header = "partita.then";
/// The header naming the input record an output record came from: "<topic>/<partition>/<offset>".
inline constexpr const char* source_header = "partita.source";
/// Key prefix of the checkpoint records of Partita 0.1's changelogs.
inline constexpr std::string_view legacy_marker_prefix{"\0partita.applied:", 17};

/// A side table's name in its changelog's name and in `partita.then`: "timers", "windows".
inline const char* side_name(side s) {
  return s == side::timers ? "timers" : "windows";
}
/// Whether the graph keeps side table `s` (declares on_timer or a visitor, windowed).
inline bool keeps(const graph_definition& g, side s) {
  return s == side::timers ? g.timer.has_value() || !g.visitors.empty() : g.window.has_value();
}
/// The changelog of side table `s`: `<group>-timers`, `<group>-windows`.
inline std::string side_topic(const graph_definition& g, side s) {
  return s == side::timers ? g.timers_topic() : g.windows_topic();
}
/// The side tables in the order a batch's records go (each changelog once the one before is
/// acknowledged, the table's last); they are read in the opposite order.
inline constexpr side production_order[] = {side::windows, side::timers};

/// Who wrote a changelog record. {0, 0, 0}: a record without the header (Partita 0.1, or a
/// producer other than Partita).
struct writer_id {
  int64_t store = 0;
  int64_t epoch = 0;
  /// The changelog offset this writer's state was taken from.
  int64_t base = 0;
  /// The same writer: the same store in the same epoch.
  bool same(const writer_id& other) const {
    return store == other.store && epoch == other.epoch;
  }
};

std::string encode_writer(writer_id w);

/// An owner epoch orders the owners of a partition (docs/handover.md): the group generation
/// of the assignment it was taken in (high bits), then how often it was taken in that
/// generation (low 32 bits). A later owner was assigned in a later generation, so its epoch is
/// higher even when it took the partition from the same changelog as an owner frozen with
/// records in flight. The generation never goes below the highest seen (a group deleted and
/// made again starts at 1), and 0 (unknown) falls back to counting takeovers.
inline int64_t generation_of(int64_t epoch) { return epoch >> 32; }
inline int64_t next_epoch(int64_t highest_seen, int32_t generation) {
  auto g = std::max<int64_t>(generation, generation_of(highest_seen));
  auto n = g == generation_of(highest_seen) ? (highest_seen & 0xffffffff) + 1 : 1;
  return g << 32 | n;
}
/// "7.3": generation 7, third takeover in it (for the log).
inline std::string epoch_text(int64_t epoch) {
  return std::to_string(generation_of(epoch)) + "." + std::to_string(epoch & 0xffffffff);
}

/// "the records up to here hold every input record of `topic` up to `offset`"
struct checkpoint {
  std::string topic;
  int64_t offset = -1;
};

std::string encode_checkpoint(const checkpoint& c);

/// One changelog record, as the readers of a changelog see it.
struct changelog_record {
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value; // nullopt: a tombstone
  writer_id writer;
  std::optional<checkpoint> vouches; // the batch it ends, if it ends one
  int64_t batch = 0;                  // that batch's number (0: not written by this version)
  std::string then;                   // the changelog whose checkpoint must confirm this one
  bool legacy_marker = false;        // a 0.1 checkpoint record: `vouches` holds its meaning
};

/// Reads a fetched record of a changelog. Throws std::invalid_argument for a Partita header
/// that does not parse.
changelog_record parse_changelog_record(const rd_kafka_message_t* m);

/// The effects of one batch, kept in LMDB with the state until Kafka acknowledges them: its
/// changelog records (with each key's value before the batch, to roll it back) and its
/// outputs. A member restarted on its store sends them again instead of processing the batch
/// again.
struct pending_batch {
  struct change {
    std::string key;
    std::optional<std::string> before;
    std::optional<std::string> after;
  };
  struct output {
    std::string topic;
    std::string key;
    std::string value;
    std::vector<header> headers;
  };
  uint64_t seq = 0;
  std::string topic;      // its input topic; empty for a batch of timers fired
  int64_t last_offset = -1; // its last input offset
  std::vector<change> changes;
  std::vector<output> outputs;
  /// The changes of the side tables (by side: timers, windows), in key order.
  std::array<std::vector<change>, side_count> side_changes;
  std::vector<change>& changes_of(side s) { return side_changes[static_cast<unsigned>(s)]; }
  const std::vector<change>& changes_of(side s) const {
    return side_changes[static_cast<unsigned>(s)];
  }
  bool has_side_changes() const {
    for (const auto& c : side_changes)
      if (!c.empty())
        return true;
    return false;
  }

  std::string encode() const;
  /// Throws std::invalid_argument for bytes that are not a pending batch.
  static pending_batch decode(uint64_t seq, std::string_view bytes);
};

} // namespace partita
