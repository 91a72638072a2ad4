#pragma once

#include "runtime/graph_definition.hpp"
#include "runtime/kafka_config.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace partita {

/// Receives the outcome of one produced record. Called on the producer's poll thread.
class delivery_handler {
public:
  virtual void delivered(rd_kafka_resp_err_t err, int32_t partition, int64_t offset) = 0;

protected:
  ~delivery_handler() = default;
};

/// An idempotent Kafka producer with its own thread serving delivery reports. Keys are
/// partitioned as Sarama does (fnv1a), so Partita and Goka services agree on partitions.
/// Thread-safe. The destructor waits up to 10 s for outstanding records.
///
/// Its linger adapts to the load (unless the properties set linger.ms, or its alias
/// queue.buffering.max.ms): while fewer than `light_load` records are unacknowledged, a record
/// is sent at once; above, records wait up to linger.ms (5 ms) to fill a batch. librdkafka's
/// linger is fixed, but it ignores linger.ms while rd_kafka_flush() runs: a record produced
/// under light load has the poll thread flush for a millisecond. (With
/// delivery.report.only.error=true the count never falls, and the linger stays fixed.)
class kafka_producer {
public:
  /// `properties` must hold bootstrap.servers; they override Partita's producer defaults.
  explicit kafka_producer(const kafka_properties& properties);
  kafka_producer(const kafka_producer&) = delete;
  kafka_producer& operator=(const kafka_producer&) = delete;
  ~kafka_producer();

  /// Queues a record; `partition` -1 partitions by key. `handler` (may be null) learns the
  /// outcome. Waits while librdkafka's queue is full; throws kafka_error on other failures.
  void produce(const std::string& topic, int32_t partition, std::string_view key,
               std::string_view value, delivery_handler* handler,
               const std::vector<header>* headers = nullptr);

  /// Waits until every queued record is delivered or failed; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  /// Records queued and not yet acknowledged.
  int outstanding() const;

  rd_kafka_t* handle() const { return rk_; }

  /// Unacknowledged records below which a record is sent without lingering: some 20,000
  /// records/s at a few milliseconds to an acknowledgement (at 1,000, the producer also sent
  /// each record at once at a quarter of the sustained maximum, in many more requests).
  static constexpr int light_load = 200;

private:
  /// The poll thread: serves delivery reports, and flushes when a record wants sending at once.
  void serve();
  /// Wakes the poll thread.
  void wake();
  /// librdkafka's delivery report callback (the opaque is the producer).
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);

  rd_kafka_t* rk_ = nullptr;
  bool adaptive_linger_ = true;
  /// Records produced and not yet reported delivered or failed.
  std::atomic<int> unacknowledged_{0};
  /// A record wants sending at once: the poll thread flushes.
  std::atomic<bool> send_now_{false};
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1; // an eventfd
  std::thread poller_;
};

/// Partita's producer defaults: idempotence, Sarama-compatible partitioning, retries forever.
kafka_properties producer_defaults();

} // namespace partita
