#pragma once

#include "runtime/codec.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace partita {

/// Where a view stands.
enum class view_state {
  /// No broker answers yet (or, once recovered, none answers now: the values stay served).
  connecting,
  /// Reading its partitions up to their ends.
  recovering,
  /// Every partition reached its end once; it follows the topic.
  running,
  /// run() returned.
  stopped,
};
const char* to_string(view_state s);

/// Settings of a view.
struct view_config {
  /// Bootstrap servers, `host:port,...`.
  std::string brokers;
  /// Root of the LMDB state: `<state_dir>/view-<topic>/<topic>.<partition>`.
  std::filesystem::path state_dir = "state";
  /// librdkafka properties, overriding Partita's defaults.
  kafka_properties kafka;
  /// Restarting a partition whose store failed: backoff, escalation.
  restart_policy restart;
  bool fsync = false;
};

/// Figures of a view.
struct view_stats {
  std::size_t partitions = 0;
  std::size_t recovered = 0; // partitions that reached their end once
  int64_t records = 0;       // records applied since run() began
  int64_t lag = 0;           // records not yet read, as of the ends last seen
  std::size_t keys = 0;
};

/// A read-only local replica of a table topic (another group's `<group>-table`, or any
/// compacted topic) in LMDB, for services: Goka's View. It follows the topic by the
/// changelog reading rule (a group's unfinished batches never show) and never stops on a
/// broker fault or a leader move: it reconnects and catches up on its own. Values are raw
/// bytes here; view<Codec> decodes them.
///
///   partita::raw_view v{cfg, "clickcount-table"};
///   std::thread t{[&] { v.run(); }};
///   v.wait_recovered(std::chrono::seconds{30});
///   auto bytes = v.get("alice");
class raw_view {
public:
  /// Throws config_error for settings that cannot work (no brokers, a bad topic name).
  raw_view(view_config cfg, std::string topic);
  raw_view(const raw_view&) = delete;
  raw_view& operator=(const raw_view&) = delete;
  ~raw_view();

  /// Connects (waiting for the brokers as long as it takes), recovers and follows the topic
  /// until stop(). Throws config_error when the brokers answer that the topic does not exist,
  /// or its state directory is used by another process.
  void run();
  /// Asks run() to return. Thread-safe.
  void stop();

  const std::string& topic() const;
  /// The value of `key`, if the table has one (nothing before the key's partition is open).
  std::optional<std::string> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  /// Visits every key, partition by partition, in key order within each partition, until `fn`
  /// returns false.
  void for_each(const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  /// Visits the keys in [from, to) (an empty `to`: no end) the same way.
  void range(std::string_view from, std::string_view to,
             const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// Every partition reached its end once.
  bool recovered() const;
  /// Waits until recovered(), up to `timeout`; returns recovered().
  bool wait_recovered(std::chrono::milliseconds timeout) const;
  view_state state() const;
  /// Called (on the view's thread) with each new state.
  void on_state_change(std::function<void(view_state)> fn);
  view_stats stats() const;
  /// The view's figures, for /metrics (partita_table_*, partita_view_state).
  const partita::metrics& metrics() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A view whose values are decoded with `Codec`.
template <codec Codec>
class view {
public:
  using value_type = typename Codec::value_type;

  view(view_config cfg, std::string topic, Codec c = {})
    : raw_(std::move(cfg), std::move(topic)), codec_(std::move(c)) {}

  void run() { raw_.run(); }
  void stop() { raw_.stop(); }
  /// The decoded value of `key`; throws decode_error naming the topic and key for a value the
  /// codec cannot read (other keys are served as usual).
  std::optional<value_type> get(std::string_view key) const {
    auto bytes = raw_.get(key);
    if (!bytes)
      return std::nullopt;
    return decode(key, *bytes);
  }
  bool has(std::string_view key) const { return raw_.has(key); }
  /// Visits every key and decoded value (see raw_view::for_each).
  void for_each(const std::function<bool(std::string_view, const value_type&)>& fn) const {
    raw_.for_each([&](std::string_view k, std::string_view v) { return fn(k, decode(k, v)); });
  }
  void range(std::string_view from, std::string_view to,
             const std::function<bool(std::string_view, const value_type&)>& fn) const {
    raw_.range(from, to,
               [&](std::string_view k, std::string_view v) { return fn(k, decode(k, v)); });
  }
  bool recovered() const { return raw_.recovered(); }
  bool wait_recovered(std::chrono::milliseconds timeout) const {
    return raw_.wait_recovered(timeout);
  }
  view_state state() const { return raw_.state(); }
  void on_state_change(std::function<void(view_state)> fn) {
    raw_.on_state_change(std::move(fn));
  }
  view_stats stats() const { return raw_.stats(); }
  /// The undecoded view (for the HTTP endpoint).
  const raw_view& raw() const { return raw_; }

private:
  value_type decode(std::string_view key, std::string_view bytes) const {
    try {
      return codec_.decode(bytes);
    } catch (const decode_error& e) {
      throw decode_error("view of " + raw_.topic() + ", key '" +
                         std::string{key.substr(0, 200)} + "': " + e.what());
    }
  }

  raw_view raw_;
  Codec codec_;
};

} // namespace partita
