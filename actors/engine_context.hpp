#pragma once

// What a behavior's context stands on inside a partition actor: one record at a time over the
// batch's LMDB write transaction. In a header of its own so that the micro-benchmarks can
// measure it against a hand-written loop. Engine internals: not part of Partita's API.

#include "actors/changelog_format.hpp"
#include "actors/deferred_commits.hpp"
#include "actors/timer_format.hpp"
#include "actors/windows.hpp"
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

/// The record a behavior runs for: fetched from Kafka (its headers read from the message when
/// asked for), or made by the engine itself (the tester's records, with their headers here).
struct engine_record {
  std::string_view key;
  std::string_view payload;
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp = -1; // milliseconds since the epoch, or -1
  const rd_kafka_message_t* message = nullptr;
  const std::vector<header>* headers = nullptr; // when there is no message

  static engine_record of(const rd_kafka_message_t* m) {
    return engine_record{key_of(m),
                         m->payload ? std::string_view{static_cast<const char*>(m->payload),
                                                       m->len}
                                    : std::string_view{},
                         m->partition,
                         m->offset,
                         rd_kafka_message_timestamp(m, nullptr),
                         m,
                         nullptr};
  }
};

/// Where the values of joined and looked-up tables come from (group_tables; the tester's).
class table_reader {
public:
  virtual ~table_reader() = default;
  /// The value of `key` in table `t`, read beside input partition `p`.
  virtual std::optional<std::string> read(const table_definition& t, std::string_view key,
                                          int32_t p) const = 0;
};

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
                 partition_store::write_batch& batch, const table_reader* tables = nullptr)
    : graph_(graph), topic_(topic), batch_(batch), tables_(tables) {
    if (graph.window) {
      windows_.emplace(*graph.window, batch);
      dead_letter_topic_ = graph.dead_letter_topic();
    }
  }

  void set_record(const rd_kafka_message_t* m) {
    rec_ = engine_record::of(m);
    firing_ = {};
    scheduled_ = 0;
  }
  void set_record(const engine_record& r) {
    rec_ = r;
    firing_ = {};
    scheduled_ = 0;
  }
  /// The record is the timer at `timer_key` (its key and payload in `r`), firing.
  void set_timer_record(const engine_record& r, std::string_view timer_key) {
    rec_ = r;
    firing_ = timer_key;
    scheduled_ = 0;
  }
  /// The clock the behaviors see (ms since the epoch), for the records that follow.
  void set_now(int64_t now_ms) { now_ = now_ms; }
  std::vector<emitted>& emits() { return emits_; }
  /// Where ctx.defer_commit() opens handles (none: they do nothing), and those the batch's
  /// records kept opened.
  void set_deferrals(deferral_source* d) { deferrals_ = d; }
  const std::vector<uint64_t>& deferred() const { return deferred_; }

  /// The record succeeded: its table change and emits join the batch.
  void keep() {
    if (change_)
      batch_.set(key(), *change_);
    for (auto& [k, v] : record_timers_)
      batch_.set_side(side::timers, k, std::move(v));
    std::move(record_emits_.begin(), record_emits_.end(), std::back_inserter(emits_));
    deferred_.insert(deferred_.end(), record_deferred_.begin(), record_deferred_.end());
    record_deferred_.clear();
    if (windows_) {
      if (windows_->record_late() > 0 && graph_.window->spec.late == late_policy::dead_letter)
        forward(dead_letter_topic_, {{"partita.error", windows_->late_note()},
                                     {"partita.topic", topic()},
                                     {"partita.partition", std::to_string(partition())},
                                     {"partita.offset", std::to_string(offset())}});
      windows_->keep();
    }
    drop();
  }
  /// The record failed: forget what it did.
  void drop() {
    change_.reset();
    record_emits_.clear();
    record_timers_.clear();
    for (auto id : record_deferred_)
      deferrals_->drop(id);
    record_deferred_.clear();
    if (windows_)
      windows_->drop();
  }
  /// Ends the batch for the windowed table: the windows the stream time closed emit their
  /// final aggregate to the graph's results output (headers partita.window.start and .end).
  void close_windows() {
    if (!windows_)
      return;
    const auto& results = graph_.window->results;
    windows_->close([&](window_bounds w, std::string_view key, std::string_view value) {
      emits_.push_back(emitted{&results, std::string{key}, std::string{value},
                               {{"partita.window.start", std::to_string(w.start)},
                                {"partita.window.end", std::to_string(w.end)}}});
    });
  }
  /// Window updates of the records kept that came after their window closed.
  uint64_t late_windows() const { return windows_ ? windows_->late() : 0; }
  /// Sends a record of the engine's own (a visit's done record) to `topic`, with the batch.
  void emit_engine(const std::string& topic, std::string key, std::string value) {
    emits_.push_back(emitted{&topic, std::move(key), std::move(value), {}});
  }
  /// Sends the record as it is to `topic`, with `headers` added.
  void forward(const std::string& topic, std::vector<header> headers) {
    auto original = this->headers();
    original.insert(original.end(), headers.begin(), headers.end());
    emits_.push_back(emitted{&topic, std::string{key()}, std::string{payload()},
                             std::move(original)});
  }

  std::string_view key() const override { return rec_.key; }
  std::string_view payload() const override { return rec_.payload; }
  const std::string& topic() const override { return topic_; }
  int32_t partition() const override { return rec_.partition; }
  int64_t offset() const override { return rec_.offset; }
  int64_t timestamp() const override { return rec_.timestamp; }
  std::vector<header> headers() const override {
    if (rec_.message == nullptr)
      return rec_.headers ? *rec_.headers : std::vector<header>{};
    std::vector<header> out;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(rec_.message, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
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
  void table_put(std::string bytes) override {
    check_key();
    change_ = std::optional{std::move(bytes)};
  }
  void table_erase() override {
    check_key();
    change_ = std::optional<std::string>{};
  }
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
  commit_handle defer_commit() override {
    if (!firing_.empty() || graph_.input(topic_) == nullptr)
      throw graph_error("ctx.defer_commit: only a behavior of an input record may defer its "
                        "commit (not a timer's, a visitor's or a punctuation's)");
    if (deferrals_ == nullptr)
      return {};
    auto [handle, id] = deferrals_->open(topic_, offset());
    record_deferred_.push_back(id);
    return handle;
  }
  const graph_definition& graph() const override { return graph_; }
  int64_t now_ms() const override { return now_; }
  timer_id schedule_timer(int64_t due_ms, std::string payload) override {
    // Numbered by where it comes from, so that a record run again sets the same timers.
    auto source = firing_.empty() ? topic_ + "/" + std::to_string(partition()) + "/" +
                                      std::to_string(offset())
                                  : std::string{firing_};
    timer_id id{std::max(due_ms, now_), timer_number(source, scheduled_++)};
    record_timers_.emplace_back(encode_timer_key(id), encode_timer_value(key(), payload));
    return id;
  }
  void update_windows(int64_t event_ms,
                      const std::function<std::string(const std::optional<std::string>&)>& update)
    override {
    if (!windows_)
      throw graph_error("ctx.update_windows: group '" + graph_.group + "' has no windowed "
                        "table; declare one with graph.windowed(name, spec, codec, results)");
    windows_->update(key(), event_ms, update);
  }
  bool cancel_timer(const timer_id& id) override {
    auto k = encode_timer_key(id);
    std::optional<std::string> current;
    bool mine = false;
    for (auto i = record_timers_.rbegin(); i != record_timers_.rend() && !mine; ++i)
      if (i->first == k) {
        mine = true;
        current = i->second;
      }
    if (!mine)
      current = batch_.get_side(side::timers, k);
    if (!current)
      return false;
    record_timers_.emplace_back(std::move(k), std::nullopt);
    return true;
  }

private:
  /// A table keeps keys LMDB can: a longer one fails its record, not the partition's write.
  void check_key() const {
    if (key().size() > partition_store::max_key_size)
      throw graph_error("group '" + graph_.group + "': a key of " + std::to_string(key().size()) +
                        " bytes is longer than the " +
                        std::to_string(partition_store::max_key_size) +
                        " bytes a table key may have; use shorter keys (a hash of the key)");
  }

  const graph_definition& graph_;
  const std::string& topic_;
  partition_store::write_batch& batch_;
  const table_reader* tables_;
  engine_record rec_;
  /// The current record's table change: a value, or nullopt for an erase.
  std::optional<std::optional<std::string>> change_;
  std::vector<emitted> record_emits_;
  std::vector<emitted> emits_;
  deferral_source* deferrals_ = nullptr;
  std::vector<uint64_t> record_deferred_, deferred_;
  /// The current record's timer changes (key, value or nullopt), in order.
  std::vector<std::pair<std::string, std::optional<std::string>>> record_timers_;
  std::optional<window_batch> windows_; // the graph's windowed table, if it has one
  std::string dead_letter_topic_;       // for late records, by the late policy
  std::string_view firing_; // the timer key, while a timer fires
  uint64_t scheduled_ = 0;  // timers the current record scheduled
  int64_t now_ = 0;
};

/// How far visit_keys went.
struct visited_keys {
  std::size_t count = 0;           // keys visited (a failed one counts when on_error says so)
  std::optional<std::string> last; // the last of them
  bool more = false;               // stopped before the table's end
};

/// Runs `handle` (a punctuation's or a visitor's) with the context of each key of the store's
/// table from `from` on, in key order, with `payload` as the record's value, over the
/// context's batch. Before each key but the first, `full(count)` may end the run there.
/// `on_error(key, error)` learns each key whose behavior failed (what it did is forgotten):
/// true counts it as visited, false ends the run before it. The one place keys are visited,
/// for punctuation and visitors, in the partition actor and the tester.
template <class Full, class OnError>
visited_keys visit_keys(engine_context& ctx, const partition_store& store, std::string_view from,
                        const std::function<void(record_context&)>& handle,
                        std::string_view payload, int32_t partition, int64_t now, Full full,
                        OnError on_error) {
  visited_keys out;
  store.scan(from, {}, [&](std::string_view key, std::string_view) {
    if (out.count > 0 && full(out.count)) {
      out.more = true;
      return false;
    }
    ctx.set_record(engine_record{key, payload, partition, -1, now, nullptr, nullptr});
    try {
      handle(ctx);
      ctx.keep();
    } catch (const std::exception& e) {
      ctx.drop();
      if (!on_error(std::string{key}, std::string{e.what()})) {
        out.more = true;
        return false;
      }
    }
    ++out.count;
    out.last = std::string{key};
    return true;
  });
  return out;
}

/// Runs the behavior of `input` for the context's record: keeps what it did, or forgets it and
/// returns the error. The one place a record runs, for the partition actor and the tester.
inline std::optional<std::string> run_record(engine_context& ctx, const input_definition& input) {
  try {
    input.handle(ctx);
    ctx.keep();
    return std::nullopt;
  } catch (const std::exception& e) {
    ctx.drop();
    return std::string{e.what()};
  }
}

/// Sends the context's record as it is to the dead-letter topic, with headers naming `error`
/// and where the record came from.
inline void dead_letter(engine_context& ctx, const std::string& dead_letter_topic,
                        const std::string& error) {
  ctx.forward(dead_letter_topic, {{"partita.error", error},
                                  {"partita.topic", ctx.topic()},
                                  {"partita.partition", std::to_string(ctx.partition())},
                                  {"partita.offset", std::to_string(ctx.offset())}});
}

/// Where a record stands: "clicks/3@120 (key 'alice')", for logs and errors.
inline std::string record_name(const engine_context& ctx) {
  return ctx.topic() + "/" + std::to_string(ctx.partition()) + "@" +
         std::to_string(ctx.offset()) + " (key '" + std::string{ctx.key().substr(0, 200)} + "')";
}


} // namespace partita::detail
