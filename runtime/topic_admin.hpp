#pragma once

#include "runtime/kafka_config.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace partita {

class embedded_cluster;

/// What a group needs of the cluster's topics.
struct topic_requirements {
  /// Topics that must have one partition count (inputs, table, loop): created if missing.
  std::vector<std::string> copartitioned;
  /// Topics that must exist (outputs, dead letters): created if missing.
  std::vector<std::string> other;
  /// Topics created with cleanup.policy=compact (the table's changelog).
  std::vector<std::string> compacted;
  /// Partitions of a created topic when no co-partitioned topic exists yet.
  int default_partitions = 8;
  /// Replication factor of a created topic; -1 is the broker's default.
  int replication_factor = -1;
};

/// Checks the topics and creates the missing ones, through the Admin API, or through `cluster`
/// when the processor runs an embedded one (it has no Admin API). Returns the co-partitioned
/// topics' partition count. Throws config_error naming the topics and counts on a mismatch, and
/// when the brokers cannot be reached within `timeout`.
int ensure_topics(const kafka_properties& properties, const topic_requirements& need,
                  embedded_cluster* cluster,
                  std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// Partition counts of the topics that exist, by name (others absent). Throws config_error
/// when the brokers cannot be reached within `timeout`.
std::map<std::string, int> partition_counts(const kafka_properties& properties,
                                            std::chrono::milliseconds timeout);

/// One client for repeated questions about the cluster's topics (one connection, not one per
/// question).
class metadata_client {
public:
  explicit metadata_client(const kafka_properties& properties);
  metadata_client(const metadata_client&) = delete;
  metadata_client& operator=(const metadata_client&) = delete;
  ~metadata_client();
  /// As partition_counts() above.
  std::map<std::string, int> partition_counts(std::chrono::milliseconds timeout);

private:
  std::string servers_;
  rd_kafka_t* rk_;
};

} // namespace partita
