#pragma once

// The baseline Partita is measured against: the click count written by hand on librdkafka and
// LMDB, no actors — consume, read-modify-write the partition's LMDB in one transaction per
// fetched batch, produce the changelog (last value per key), commit only acknowledged offsets.
// Tuned as Partita is: same consumer and producer settings.

#include "runtime/kafka_config.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace partita::bench {

struct baseline_config {
  kafka_properties kafka; // bootstrap.servers and anything else both sides share
  kafka_properties consumer; // the consumer's own settings (as processor_config::consumer)
  std::string group;
  std::string topic;
  std::filesystem::path state_dir;
  /// Stop once this many records are applied.
  uint64_t records = 0;
  /// Set once the consumer has its partitions, if given.
  std::atomic<bool>* assigned = nullptr;
  /// The join scenario: a record counts only if its key is in `join_topic` (empty: no join),
  /// loaded by a table_loader into `join_dir` once the consumer has its partitions (Partita
  /// holds input until its joined table is recovered).
  std::string join_topic;
  int join_partitions = 0;
  std::filesystem::path join_dir;
  /// The windows scenario: count per key and tumbling window of `window_ms` in event time (the
  /// record's timestamp, no grace: a record for a closed window is skipped) instead of per
  /// key; the changelog is `<group>-windows` (with each partition's stream time), and each
  /// window the stream time passes goes to `<group>-results` in the batch that passes it.
  int64_t window_ms = 0;
};

/// The hand-written side of a join's recovery: one consumer, connected when made, that reads
/// partitions 0..partitions-1 of a topic from the start to their ends into LMDB, one
/// environment per partition in `dir/<p>`.
class table_loader {
public:
  explicit table_loader(const kafka_properties& kafka);
  table_loader(const table_loader&) = delete;
  table_loader& operator=(const table_loader&) = delete;
  ~table_loader();
  void load(const std::string& topic, int partitions, const std::filesystem::path& dir);

private:
  rd_kafka_t* rk_;
};

/// Runs the hand-written click count until `records` are applied and their changelog records
/// acknowledged. `fetched` and `applied` count as it goes (for timing).
void run_baseline(const baseline_config& cfg, std::atomic<uint64_t>& fetched,
                  std::atomic<uint64_t>& applied);

} // namespace partita::bench
