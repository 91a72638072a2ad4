#pragma once

// Plain librdkafka helpers for tests: produce records and read a topic back, independent of the
// Partita runtime so that they check it from the outside.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace partita::test {

struct kafka_record {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  int64_t timestamp = -1; // ms since the epoch
};

/// A record to produce with its own timestamp (CreateTime).
struct timed_record {
  std::string key;
  std::string value;
  int64_t timestamp = 0;
};

/// Produces `records` (key, value) to `topic`, keyed with Sarama's partitioner (fnv1a), and
/// waits for every acknowledgement. Returns the number acknowledged without error.
std::size_t produce(const std::string& bootstrap, const std::string& topic,
                    const std::vector<std::pair<std::string, std::string>>& records);

/// produce() with each record's timestamp.
std::size_t produce_timed(const std::string& bootstrap, const std::string& topic,
                          const std::vector<timed_record>& records);

/// Reads every record of every partition of `topic`, from the low to the high watermark.
std::vector<kafka_record> read_topic(const std::string& bootstrap, const std::string& topic);

/// Low and high watermark of a partition.
std::pair<int64_t, int64_t> watermarks(const std::string& bootstrap, const std::string& topic,
                                       int32_t partition);

/// The committed offsets of `group` for partitions 0..partitions-1 of `topic` (-1: none).
std::vector<int64_t> committed(const std::string& bootstrap, const std::string& group,
                               const std::string& topic, int partitions);

/// The latest value per key of a topic, as a table would hold it (empty value: deleted).
std::map<std::string, std::string> latest_by_key(const std::vector<kafka_record>& records);

/// Counts records per key.
std::map<std::string, int64_t> count_by_key(const std::vector<kafka_record>& records);

/// Polls `done` until it is true or `timeout` passes; returns its last answer.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds{60},
                std::chrono::milliseconds every = std::chrono::milliseconds{50});

} // namespace partita::test
