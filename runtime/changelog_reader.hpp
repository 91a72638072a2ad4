#pragma once

#include "runtime/kafka_config.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace partita {

/// A read stopped because its caller no longer wants it.
class read_cancelled : public std::runtime_error {
public:
  read_cancelled() : std::runtime_error("cancelled") {}
};

/// Where a read of one partition ended.
struct partition_read {
  int64_t next_offset = 0; // the high watermark when the read began
  uint64_t records = 0;
  uint64_t bytes = 0;
};

/// Reads one partition from `from` (clamped to the low watermark) up to its high watermark as
/// of the start, handing records to `apply` in batches (valid during the call only). Blocking:
/// call it on a thread of its own, never on an actor scheduler's. Retries transient errors
/// until `timeout`; throws kafka_error after it, and read_cancelled once `cancel` is set.
/// `on_range`, if given, learns the offsets the read covers, [begin, end), before it starts.
/// `asker`, if given, is a client of the same cluster that asks for the watermarks first: a
/// partition with nothing to read then costs no consumer of its own (a process that starts
/// thousands of partitions on empty or current changelogs starts no consumer for them).
partition_read read_partition(const kafka_properties& properties, const std::string& topic,
                              int32_t partition, int64_t from, const std::atomic<bool>& cancel,
                              const std::function<void(rd_kafka_message_t**, size_t)>& apply,
                              std::chrono::milliseconds timeout = std::chrono::minutes{5},
                              const std::function<void(int64_t begin, int64_t end)>& on_range =
                                {},
                              rd_kafka_t* asker = nullptr);

} // namespace partita
