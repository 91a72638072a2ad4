#pragma once

// What a behavior's context stands on inside a partition actor: one record at a time over the
// batch's LMDB write transaction. In a header of its own so that the micro-benchmarks can
// measure it against a hand-written loop. Engine internals: not part of Partita's API.

#include "actors/changelog_format.hpp"
#include "actors/group_tables.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/graph_definition.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace partita::detail {

/// A record's key, empty for a record without one.
inline std::string_view key_of(const rd_kafka_message_t* m) {
  return m->key ? std::string_view{static_cast<const char*>(m->key), m->key_len}
                : std::string_view{};
}

/// A behavior's view of one record, over the batch's LMDB changes and its collected emits.
/// A record's table change and emits are kept apart until it succeeds (keep()), so a behavior
/// that throws half-way leaves nothing behind (drop()).
class engine_context final : public record_context {
public:
  struct emitted {
    const std::string* topic;
    std::string key;
    std::string value;
    std::vector<header> headers;
  };

  engine_context(const graph_definition& graph, const std::string& topic,
                 partition_store::write_batch& batch, const group_tables* tables = nullptr)
    : graph_(graph), topic_(topic), batch_(batch), tables_(tables) {}

  void set_record(const rd_kafka_message_t* m) { msg_ = m; }
  std::vector<emitted>& emits() { return emits_; }

  /// The record succeeded: its table change and emits join the batch.
  void keep() {
    if (change_)
      batch_.set(key(), *change_);
    std::move(record_emits_.begin(), record_emits_.end(), std::back_inserter(emits_));
    drop();
  }
  /// The record failed: forget what it did.
  void drop() {
    change_.reset();
    record_emits_.clear();
  }
  /// Sends the record as it is to `topic`, with `headers` added.
  void forward(const std::string& topic, std::vector<header> headers) {
    auto original = this->headers();
    original.insert(original.end(), headers.begin(), headers.end());
    emits_.push_back(emitted{&topic, std::string{key()}, std::string{payload()},
                             std::move(original)});
  }

  std::string_view key() const override { return key_of(msg_); }
  std::string_view payload() const override {
    return msg_->payload ? std::string_view{static_cast<const char*>(msg_->payload), msg_->len}
                         : std::string_view{};
  }
  const std::string& topic() const override { return topic_; }
  int32_t partition() const override { return msg_->partition; }
  int64_t offset() const override { return msg_->offset; }
  int64_t timestamp() const override { return rd_kafka_message_timestamp(msg_, nullptr); }
  std::vector<header> headers() const override {
    std::vector<header> out;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg_, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return out;
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i)
      out.push_back(header{name, value ? std::string{static_cast<const char*>(value), size}
                                       : std::string{}});
    return out;
  }
  std::optional<std::string> table_get() override {
    return change_ ? *change_ : batch_.get(key());
  }
  void table_put(std::string bytes) override { change_ = std::optional{std::move(bytes)}; }
  void table_erase() override { change_ = std::optional<std::string>{}; }
  /// Each output names its input record, so that a consumer can drop a copy sent again
  /// after a crash.
  void produce(const output_definition& out, std::string_view key, std::string bytes) override {
    record_emits_.push_back(emitted{&out.topic, std::string{key}, std::move(bytes),
                                    {{source_header, topic_ + "/" + std::to_string(partition()) +
                                                       "/" + std::to_string(offset())}}});
  }
  std::optional<std::string> table_read(const table_definition& table,
                                        std::string_view key) override {
    if (tables_ == nullptr)
      throw graph_error("table " + table.topic + " is read outside a processor");
    return tables_->read(table, key, partition());
  }
  const graph_definition& graph() const override { return graph_; }

private:
  const graph_definition& graph_;
  const std::string& topic_;
  partition_store::write_batch& batch_;
  const group_tables* tables_;
  const rd_kafka_message_t* msg_ = nullptr;
  /// The current record's table change: a value, or nullopt for an erase.
  std::optional<std::optional<std::string>> change_;
  std::vector<emitted> record_emits_;
  std::vector<emitted> emits_;
};

} // namespace partita::detail
