#pragma once

#include "runtime/codec.hpp"
#include "runtime/kafka_producer.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace partita {

/// The outcome of one emitted record.
struct delivery {
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
  bool ok() const { return error == RD_KAFKA_RESP_ERR_NO_ERROR; }
  std::string message() const { return rd_kafka_err2str(error); }
};

/// Produces keyed records to one topic, encoding values with codec C; Goka's Emitter.
///
///   partita::emitter<partita::string_codec> clicks{"localhost:9092", "clicks"};
///   clicks.emit("alice", "click", [](const partita::delivery& d) { ... });
///   clicks.flush();
template <codec C>
class emitter {
public:
  using value_type = typename C::value_type;
  using callback = std::function<void(const delivery&)>;

  emitter(const std::string& brokers, std::string topic, C c = {},
          kafka_properties properties = {})
    : topic_(std::move(topic)), codec_(std::move(c)) {
    properties.emplace("bootstrap.servers", brokers);
    producer_ = std::make_unique<kafka_producer>(properties);
  }

  /// Queues a record; `done` (optional) runs on the producer's thread with the outcome.
  void emit(std::string_view key, const value_type& value, callback done = {}) {
    auto* handler = done ? new callback_handler{std::move(done)} : nullptr;
    try {
      producer_->produce(topic_, -1, key, codec_.encode(value), handler);
    } catch (...) {
      delete handler;
      throw;
    }
  }

  /// Waits until every emitted record is acknowledged or failed; false on timeout.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds{30}) {
    return producer_->flush(timeout);
  }

  const std::string& topic() const { return topic_; }

private:
  struct callback_handler final : delivery_handler {
    explicit callback_handler(callback f) : fn(std::move(f)) {}
    void delivered(rd_kafka_resp_err_t err, int32_t partition, int64_t offset) override {
      fn(delivery{err, partition, offset});
      delete this;
    }
    callback fn;
  };

  std::string topic_;
  C codec_;
  std::unique_ptr<kafka_producer> producer_;
};

} // namespace partita
