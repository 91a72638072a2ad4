#pragma once

#include "runtime/kafka_config.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <librdkafka/rdkafka.h>

namespace spdlog {
class logger;
}

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

/// Reads changelog partitions from a given offset to their end, for the recoveries of one
/// processor: one consumer that never joins its group, connected once, that each read assigns its
/// partition to and unassigns it from (a consumer of its own per read cost 30-250 ms to
/// connect and fetch first, and four threads, each time). Each read takes its records from
/// its partition's own queue, on the caller's thread, so recoveries run side by side; the
/// broker threads fetch every partition being read in one request per broker. librdkafka
/// rides out broker faults and leader moves. Thread-safe.
class changelog_reader {
public:
  /// Throws config_error for properties librdkafka refuses.
  explicit changelog_reader(const kafka_properties& properties);
  changelog_reader(const changelog_reader&) = delete;
  changelog_reader& operator=(const changelog_reader&) = delete;
  ~changelog_reader();

  /// Reads one partition from `from` (clamped to the low watermark) up to its high watermark
  /// as of the start, handing records to `apply` in batches (valid during the call only).
  /// Blocking: call it on a thread of its own, never on an actor scheduler's. Retries
  /// transient errors until `timeout`; throws kafka_error after it, and read_cancelled once
  /// `cancel` is set. `on_range`, if given, learns the offsets the read covers, [begin, end),
  /// before it starts. A partition with nothing to read is not assigned. Reads of the same
  /// partition take turns.
  partition_read read(const std::string& topic, int32_t partition, int64_t from,
                      const std::atomic<bool>& cancel,
                      const std::function<void(rd_kafka_message_t**, size_t)>& apply,
                      std::chrono::milliseconds timeout = std::chrono::minutes{5},
                      const std::function<void(int64_t begin, int64_t end)>& on_range = {});

private:
  using topic_partition = std::pair<std::string, int32_t>;
  /// Serves the client's own events (errors) on its own thread until the reader is destroyed.
  void serve();
  void assign(const std::string& topic, int32_t partition, int64_t offset, bool add);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);

  std::shared_ptr<spdlog::logger> log_;
  rd_kafka_t* rk_ = nullptr;
  std::mutex mtx_;
  std::condition_variable freed_;
  std::set<topic_partition> reading_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

} // namespace partita
