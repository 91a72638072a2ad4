#pragma once

#include "runtime/kafka_config.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace partita {

class embedded_cluster;

/// Where a group without committed offsets starts reading its inputs.
enum class start_from { earliest, latest };

/// Settings of a processor.
struct processor_config {
  /// Bootstrap servers, `host:port,...`.
  std::string brokers;
  /// Root of the LMDB state: `<state_dir>/<group>/<topic>.<partition>`.
  std::filesystem::path state_dir = "state";
  start_from from = start_from::earliest;
  /// librdkafka properties for every client of the processor, overriding Partita's defaults.
  kafka_properties kafka;
  /// librdkafka properties for the group's consumer only (`session.timeout.ms`, ...).
  kafka_properties consumer;
  /// Records queued for one partition actor before its fetching pauses (back-pressure).
  std::size_t max_in_flight = 20000;
  /// How long a revoked or stopping partition may take to finish its in-flight records.
  std::chrono::milliseconds drain_timeout{30000};
  /// How long run() waits for the brokers at start before it gives up with an error.
  std::chrono::milliseconds startup_timeout{30000};
  /// Partitions of the group's topics when none exists yet.
  int default_partitions = 8;
  /// fsync every LMDB commit (see store_config::fsync).
  bool fsync = false;
  /// When the processor runs on an embedded cluster: missing topics are created through it.
  embedded_cluster* cluster = nullptr;
};

} // namespace partita
