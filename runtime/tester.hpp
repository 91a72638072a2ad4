#pragma once

// partita::tester: runs group graphs in the calling thread, without Kafka and without threads,
// the way Goka's tester does: records go in with consume(), run through the same engine code a
// partition actor runs (the context, the behaviors, the poison policy), and what they did is
// read back from the tables and the output queues. Link partita::tester; no test framework is
// needed (use it from GoogleTest, Catch2, CAF's or a plain main).
//
//   partita::tester tt{graph};
//   tt.consume("clicks", "alice", std::string{"/home"});
//   assert(tt.table_value<int64_t>("clickcount-table", "alice") == 1);

#include "runtime/graph_definition.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor_config.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace partita {

/// A record failed and the poison policy does not dead-letter it: on Kafka its partition
/// would be restarted (retry) or stopped (stop_partition). Names the record and the error.
class record_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Settings of a tester.
struct tester_config {
  /// As processor_config's: what a record that fails does.
  poison_policy on_poison = poison_policy::dead_letter;
  int poison_retries = 3;
  /// Where the tables' LMDB stores live; empty: a fresh temporary directory, removed by the
  /// tester's destructor.
  std::filesystem::path state_dir;
  /// The virtual clock's start (milliseconds since the epoch): records consumed without a
  /// timestamp get the clock's time; advance() moves it.
  int64_t start_ms = 1'700'000'000'000;
};

/// A record of a topic as the tester saw it: consumed, emitted, or written to a changelog.
struct test_record {
  std::string topic;
  int64_t offset = 0;
  int64_t timestamp = -1;
  std::string key;
  std::optional<std::string> value; // nullopt: a tombstone (a key erased from a table)
  std::vector<header> headers;

  /// The value of header `name`, if the record has one.
  std::optional<std::string> header_value(std::string_view name) const;
};

/// What consume() adds to a record.
struct consume_options {
  std::vector<header> headers;
  int64_t timestamp = -1; // -1: the tester's clock
};

class tester {
public:
  explicit tester(tester_config cfg = {});
  /// A tester of one graph.
  template <class TableCodec>
  explicit tester(const group_graph<TableCodec>& graph, tester_config cfg = {})
    : tester(std::move(cfg)) {
    add(graph);
  }
  tester(tester&&) noexcept;
  tester& operator=(tester&&) noexcept;
  ~tester();

  /// Adds a graph (several graphs: what one emits, another consumes; what one's table holds,
  /// another joins). Throws graph_error for a graph that cannot run or a group added twice.
  template <class TableCodec>
  tester& add(const group_graph<TableCodec>& graph) {
    return add(graph.definition());
  }
  tester& add(const graph_definition& graph);

  /// A record of `topic` with `value` encoded by the codec of the input that consumes it. The
  /// behaviors of every graph consuming `topic` run at once, and so do the behaviors of what
  /// they emit (loopbacks, and outputs that are inputs of the tested graphs), until nothing is
  /// left. Throws graph_error when no tested graph consumes `topic` or the value's type does
  /// not fit; record_error when a behavior fails and the policy does not dead-letter it.
  template <class T>
  void consume(std::string_view topic, std::string_view key, const T& value,
               consume_options opts = {}) {
    consume_bytes(topic, key, encode_for(input_codec(topic), "consume from", topic, value),
                  std::move(opts));
  }
  /// consume() with the record's bytes as they are (a value no codec would write).
  void consume_bytes(std::string_view topic, std::string_view key, std::string bytes,
                     consume_options opts = {});

  /// The value of `key` in `table`: a tested group's table (`<group>-table`), or a table the
  /// graphs join or look up. T must be the table codec's value type.
  template <class T>
  std::optional<T> table_value(std::string_view table, std::string_view key) const {
    auto what = "table_value<T>(\"" + std::string{table} + "\")";
    require_type<T>(table_codec(table), what);
    auto bytes = table_bytes(table, key);
    if (!bytes)
      return std::nullopt;
    return decode_as<T>(table_codec(table), what, *bytes);
  }
  /// The value's bytes as stored.
  std::optional<std::string> table_bytes(std::string_view table, std::string_view key) const;

  /// Sets `key` in `table` (a tested group's table, or one the graphs join or look up), as if
  /// the table's owner had written it.
  template <class T>
  void set_table_value(std::string_view table, std::string_view key, const T& value) {
    set_table_bytes(table, key, encode_for(table_codec(table), "set a value of", table, value));
  }
  void set_table_bytes(std::string_view table, std::string_view key,
                       std::optional<std::string> bytes);

  /// The windows of `key` in the windowed table `name` of a tested group, oldest first: each
  /// one's bounds, aggregate (of the window codec's type T) and whether it is closed.
  template <class T>
  struct window_value {
    window_bounds window;
    T value;
    bool closed = false;
  };
  template <class T>
  std::vector<window_value<T>> windows(std::string_view name, std::string_view key) const {
    auto what = "windows<T>(\"" + std::string{name} + "\")";
    const auto& c = window_codec(name);
    std::vector<window_value<T>> out;
    for (auto& w : window_bytes(name, key))
      out.push_back({w.bounds, decode_as<T>(c, what, w.value), w.closed});
    return out;
  }
  std::vector<window_entry> window_bytes(std::string_view name, std::string_view key) const;

  /// Reads what is produced to one topic (an output, a loop, `<group>-dlq`, `<group>-table`),
  /// from the moment it is made on.
  class queue {
  public:
    /// The next record, if one came since.
    std::optional<test_record> next();
    /// Records not read yet.
    std::size_t size() const;
    /// Skips every record produced so far.
    void seek_to_end();

  private:
    friend class tester;
    queue(const std::vector<test_record>* log, std::size_t at) : log_(log), at_(at) {}
    const std::vector<test_record>* log_;
    std::size_t at_;
  };
  queue output(std::string_view topic);

  /// Decodes a record's value with the codec it was written with: its output's, its table's,
  /// or, for a dead letter, the codec of the input it came from. T is that codec's value type.
  template <class T>
  T value_of(const test_record& r) const {
    if (!r.value)
      throw graph_error("value_of<T>: the record of " + r.topic + " is a tombstone");
    return decode_as<T>(output_codec(r), "value_of<T>(" + r.topic + ")", *r.value);
  }

  /// Runs visitor `name` (graph.visitor) with `value` over every key of its group's table, as
  /// processor::visit_all does, then what it emits; returns the keys visited. `group` names
  /// the tested group when several have the visitor. Throws graph_error for an unknown
  /// visitor or a value of another type; record_error as consume() does.
  template <class T>
  int64_t visit_all(std::string_view name, const T& value, std::string_view group = {}) {
    return visit_bytes(name, encode_for(visitor_codec(name, group), "visit", name, value), group);
  }
  /// visit_all() with the value's bytes as they are (decode_error for bytes the visitor's codec
  /// cannot read).
  int64_t visit_bytes(std::string_view name, std::string bytes, std::string_view group = {});

  /// The virtual clock (milliseconds since the epoch), which ctx.now() and ctx.schedule() see.
  std::chrono::milliseconds now() const;
  /// Moves the clock on by `by`, firing the timers due meanwhile in their order, each at its
  /// due time (what they schedule in the window fires too), and running each punctuation
  /// (graph.every) whenever its interval comes round, counted from when its graph was added.
  /// consume() fires the timers due at once (no delay) after the record.
  void advance(std::chrono::milliseconds by);
  /// Timers of a tested group not fired (or cancelled) yet.
  std::size_t pending_timers(std::string_view group) const;

private:
  struct engine;
  const erased_codec& input_codec(std::string_view topic) const;
  const erased_codec& table_codec(std::string_view table) const;
  const erased_codec& window_codec(std::string_view name) const;
  const erased_codec& visitor_codec(std::string_view name, std::string_view group) const;
  const erased_codec& output_codec(const test_record& r) const;

  std::unique_ptr<engine> engine_;
};

} // namespace partita
