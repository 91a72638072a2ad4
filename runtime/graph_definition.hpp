#pragma once

// The type-erased form of a group graph: what the engine runs. Users build it with group_graph
// (group_graph.hpp) and never touch these types directly.

#include "runtime/commit_handle.hpp"
#include "runtime/timer.hpp"
#include "runtime/window.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <typeindex>
#include <utility>
#include <vector>

namespace partita {

/// A graph that cannot run: no input, an emit to an undeclared output, a bad topic name...
class graph_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// A Kafka record header.
struct header {
  std::string name;
  std::string value;
};

struct graph_definition;
struct output_definition;
struct table_definition;

/// A codec with its value type erased: what the engine (and the tester) needs of a codec.
struct erased_codec {
  std::string name;
  std::type_index type{typeid(void)};
  /// Encodes a value of `type`, passed by address.
  std::function<std::string(const void*)> encode;
  /// Decodes bytes into the std::optional<type> at `out`; throws decode_error.
  std::function<void(std::string_view bytes, void* out)> decode;
  /// Throws decode_error unless `bytes` decode (what a value from outside is checked with).
  std::function<void(std::string_view bytes)> check;

  template <class C>
  static erased_codec of(C c) {
    using V = typename C::value_type;
    return erased_codec{C::name, std::type_index{typeid(V)},
                        [c](const void* v) { return c.encode(*static_cast<const V*>(v)); },
                        [c](std::string_view bytes, void* out) {
                          *static_cast<std::optional<V>*>(out) = c.decode(bytes);
                        },
                        [c](std::string_view bytes) { (void)c.decode(bytes); }};
  }
};

/// What the engine hands a behavior for one record: the record, the table row of its key, and
/// a way to produce. Implemented by the partition actor; behaviors see it through context<T>.
class record_context {
public:
  virtual ~record_context() = default;
  virtual std::string_view key() const = 0;
  virtual std::string_view payload() const = 0;
  virtual const std::string& topic() const = 0;
  virtual int32_t partition() const = 0;
  virtual int64_t offset() const = 0;
  /// Milliseconds since the epoch, or -1.
  virtual int64_t timestamp() const = 0;
  virtual std::vector<header> headers() const = 0;
  virtual std::optional<std::string> table_get() = 0;
  virtual void table_put(std::string bytes) = 0;
  virtual void table_erase() = 0;
  virtual void produce(const output_definition& out, std::string_view key, std::string bytes) = 0;
  /// The engine's clock: milliseconds since the epoch (the tester's is virtual).
  virtual int64_t now_ms() const = 0;
  /// Schedules the graph's timer behavior for this key at `due_ms` (the past: at once) with
  /// `payload` (encoded by the timer codec). Kept with the batch, like a table change.
  virtual timer_id schedule_timer(int64_t due_ms, std::string payload) = 0;
  /// Cancels a timer of this partition; false if there is none (fired, cancelled, unknown).
  virtual bool cancel_timer(const timer_id& id) = 0;
  /// Updates the aggregate of each window of the graph's windowed table that `event_ms` falls
  /// in, for this key: `update` gets a window's aggregate (nullopt: a new window) and returns
  /// its new one. A window already closed is left as it is, by the graph's late policy.
  virtual void update_windows(
    int64_t event_ms,
    const std::function<std::string(const std::optional<std::string>&)>& update) = 0;
  /// The value of `key` in a joined or looked-up table (raw bytes), if it has one.
  virtual std::optional<std::string> table_read(const table_definition& table,
                                                std::string_view key) = 0;
  /// Holds the record's batch back until the handle is called (commit_handle.hpp).
  virtual commit_handle defer_commit() = 0;
  virtual const graph_definition& graph() const = 0;
};

/// An input: a topic and what to do with each of its records.
struct input_definition {
  std::string topic;
  erased_codec codec;
  /// Decodes the record (throws decode_error) and runs the behavior.
  std::function<void(record_context&)> handle;
};

/// An output a behavior may emit to, with its codec erased.
struct output_definition {
  std::string topic;
  erased_codec codec;
};

/// A table the behaviors read and another group (or any producer) writes: a join is
/// co-partitioned with the inputs (partition p of the table beside partition p of the inputs),
/// a lookup is not (the process holds all of its partitions).
struct table_definition {
  enum class kind_t { join, lookup };
  kind_t kind;
  std::string topic;
  erased_codec codec;

  const char* kind_name() const { return kind == kind_t::join ? "join" : "lookup"; }
};

/// The timer behavior: runs with a timer's key when it is due (graph.on_timer).
struct timer_definition {
  erased_codec codec; // of the payloads
  /// Decodes the payload (throws decode_error) and runs the behavior.
  std::function<void(record_context&)> handle;
};

/// A punctuation: runs with the context of every key of each partition's table, every
/// `interval` of wall-clock time (graph.every).
struct punctuation_definition {
  std::chrono::milliseconds interval;
  std::function<void(record_context&)> handle;
};

/// The group's windowed table (graph.windowed): an aggregate per key and window.
struct window_definition {
  std::string name; // the table's name, for queries: /tables/<name>/<key>
  window_spec spec;
  erased_codec codec;  // of the aggregates
  std::string results; // the output each closed window's final aggregate goes to
};

/// A visitor (graph.visitor): runs with the context of every key of the group table, with the
/// value a visit was started with (processor::visit_all).
struct visitor_definition {
  std::string name;
  erased_codec codec; // of the visit's value
  /// Decodes the visit's value (throws decode_error) and runs the behavior for one key.
  std::function<void(record_context&)> handle;
};

/// A group graph in the form the engine runs.
struct graph_definition {
  std::string group;
  std::vector<input_definition> inputs; // the loop topic, if any, is one of them
  std::vector<output_definition> outputs; // the loop topic, if any, is one of them
  std::vector<table_definition> tables; // joined and looked-up tables
  bool persist = false;
  erased_codec table_codec; // the group table's, when persist
  std::optional<timer_definition> timer; // graph.on_timer, if declared
  std::vector<punctuation_definition> punctuations; // graph.every
  std::optional<window_definition> window; // graph.windowed, if declared
  std::vector<visitor_definition> visitors; // graph.visitor

  std::string table_topic() const { return group + "-table"; }
  std::string loop_topic() const { return group + "-loop"; }
  std::string dead_letter_topic() const { return group + "-dlq"; }
  /// The changelog of the group's timers (when it declares on_timer): the engine's own topic.
  std::string timers_topic() const { return group + "-timers"; }
  /// The changelog of the group's windowed table (when it declares one): the engine's own.
  std::string windows_topic() const { return group + "-windows"; }
  /// Where visits start and report they are done (when the group declares visitors): an input
  /// of the engine's own, co-partitioned with the others. Their progress is kept beside the
  /// timers, in `<group>-timers`.
  std::string visits_topic() const { return group + "-visits"; }

  /// The declared output named `topic`; throws graph_error naming it if there is none.
  const output_definition& output(std::string_view topic) const;
  /// The input named `topic`, or nullptr.
  const input_definition* input(std::string_view topic) const;
  /// The declared table `topic` of `kind`; throws graph_error naming it if there is none.
  const table_definition& table(std::string_view topic, table_definition::kind_t kind) const;
  /// The visitor named `name`, or nullptr.
  const visitor_definition* visitor(std::string_view name) const;
  /// The topics of the tables of `kind`.
  std::vector<std::string> table_topics(table_definition::kind_t kind) const;
  /// Every topic the group consumes (the visits topic last, if the group has visitors).
  std::vector<std::string> input_topics() const;
  /// Throws graph_error with what is wrong and how to fix it.
  void validate() const;
};

/// True if `name` is a legal Kafka topic (or group) name.
bool valid_topic_name(std::string_view name);

/// Encodes `value` with `c` for `verb topic` ("emit to", "consume from"), accepting a value of
/// the codec's own type, anything convertible to a string for string codecs, and any integer
/// for int64 codecs.
template <class T>
std::string encode_for(const erased_codec& c, const char* verb, std::string_view topic,
                       const T& value) {
  if (c.type == std::type_index{typeid(T)})
    return c.encode(&value);
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    if (c.type == std::type_index{typeid(std::string)}) {
      std::string text{std::string_view{value}};
      return c.encode(&text);
    }
  }
  if constexpr (std::is_integral_v<T>) {
    if (c.type == std::type_index{typeid(int64_t)}) {
      int64_t wide = value;
      return c.encode(&wide);
    }
  }
  throw graph_error(std::string{verb} + " '" + std::string{topic} +
                    "': the value's type does not fit the " + c.name +
                    " codec; pass a value of the codec's value_type");
}

/// Throws graph_error, naming `what`, unless T is the value type of `c`.
template <class T>
void require_type(const erased_codec& c, std::string_view what) {
  if (c.type != std::type_index{typeid(T)})
    throw graph_error(std::string{what} + ": T is not the value type of its " + c.name +
                      " codec");
}
/// Decodes `bytes` with `c` into a T, which must be the codec's value type; `what` names the
/// bytes for the errors (graph_error for a wrong T, decode_error for bad bytes).
template <class T>
T decode_as(const erased_codec& c, std::string_view what, std::string_view bytes) {
  require_type<T>(c, what);
  std::optional<T> out;
  c.decode(bytes, &out);
  return std::move(*out);
}

} // namespace partita
