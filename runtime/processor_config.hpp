#pragma once

#include "runtime/kafka_config.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace partita {

class embedded_cluster;

/// Where a group without committed offsets starts reading its inputs.
enum class start_from { earliest, latest };

/// How the partition supervisor restarts a failed partition actor.
struct restart_policy {
  /// Delay before the first restart.
  std::chrono::milliseconds min_backoff{200};
  /// Longest delay between restarts.
  std::chrono::milliseconds max_backoff{30000};
  /// Each further restart waits this much longer.
  double multiplier = 2.0;
  /// Each delay is scaled by a random factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  /// A partition that ran this long without failing starts again from min_backoff.
  std::chrono::milliseconds reset_after{60000};
  /// More than this many restarts within `window` marks the partition failed.
  int max_restarts = 10;
  std::chrono::milliseconds window{300000};
  /// What a failed partition does to the process: true stops the processor (its other
  /// partitions drain and commit first); false (the default) keeps it running, reporting
  /// the partition as failed, so the other partitions go on.
  bool stop_process_on_failure = false;
};

/// What a partition does with a record it cannot process (its value does not decode, or its
/// behavior throws).
enum class poison_policy {
  /// Restart the partition with backoff and try the record again, without end.
  retry,
  /// Try `poison_retries` times (restarting the partition with backoff in between), then
  /// produce the record unchanged to `<group>-dlq`, with headers naming the error, topic,
  /// partition and offset, and go on.
  dead_letter,
  /// Stop the partition at once (reported as failed); the other partitions go on.
  stop_partition,
};

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
  /// Restarting failed partitions: backoff, escalation.
  restart_policy restart;
  /// Records that cannot be processed.
  poison_policy on_poison = poison_policy::dead_letter;
  int poison_retries = 3;
  /// How often the broker monitor looks at the cluster.
  std::chrono::milliseconds monitor_interval{500};
  /// fsync every LMDB commit (see store_config::fsync).
  bool fsync = false;
  /// Hot standby (Goka's WithHotStandby): follow the group table's partitions this member
  /// does not own, in their stores under state_dir, so that a partition handed to it starts
  /// from where the standby got to instead of replaying the changelog. Costs the disk and
  /// the fetching of the whole table on every member.
  bool hot_standby = false;
  /// Recover ahead (Goka's WithRecoverAhead): follow every partition of the joined tables, not
  /// only those beside the member's own partitions.
  bool recover_ahead = false;
  /// When the processor runs on an embedded cluster: missing topics are created through it.
  embedded_cluster* cluster = nullptr;
  /// The clock timers and punctuation run on, in milliseconds since the epoch; empty: the
  /// system clock. For tests and benchmarks that move time on by hand.
  std::function<int64_t()> clock;
};

} // namespace partita
