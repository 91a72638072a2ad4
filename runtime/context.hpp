#pragma once

#include "runtime/codec.hpp"
#include "runtime/graph_definition.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <variant>

namespace partita {

/// The table codec of a group graph without a table.
struct no_table {};

namespace detail {
template <class TableCodec>
struct table_value {
  using type = typename TableCodec::value_type;
};
template <>
struct table_value<no_table> {
  using type = std::monostate;
};
} // namespace detail

/// What a behavior sees of one record: its key and value, the group table's value for the key,
/// and the ways to change the table and to emit. Valid only during the behavior's call.
template <class TableCodec = no_table>
class context {
public:
  using value_type = typename detail::table_value<TableCodec>::type;
  static constexpr bool has_table = !std::is_same_v<TableCodec, no_table>;

  context(record_context& rc, const TableCodec& table) : rc_(rc), table_(table) {}

  /// The record's key.
  std::string_view key() const { return rc_.key(); }

  /// The table's current value for this key, if any.
  std::optional<value_type> value() const
    requires has_table
  {
    auto bytes = rc_.table_get();
    if (!bytes)
      return std::nullopt;
    return table_.decode(*bytes);
  }

  /// Sets the table's value for this key (written with the batch, sent to the changelog).
  void set_value(const value_type& v)
    requires has_table
  {
    rc_.table_put(table_.encode(v));
  }

  /// Deletes this key from the table (a tombstone in the changelog).
  void erase()
    requires has_table
  {
    rc_.table_erase();
  }

  /// Emits a record to a declared output topic.
  template <class T>
  void emit(std::string_view topic, std::string_view key, const T& value) {
    const auto& out = rc_.graph().output(topic);
    rc_.produce(out, key, encode_for(out.codec, "emit to", out.topic, value));
  }

  /// Sends a record to this group's loop topic, re-keyed; the loop behavior receives it.
  template <class T>
  void loopback(std::string_view key, const T& value) {
    emit(rc_.graph().loop_topic(), key, value);
  }

  /// The value of the record's key in the joined table `topic` (graph.join), if it has one.
  /// Throws decode_error for a value its codec cannot read (the poison policy applies).
  template <class T>
  std::optional<T> join(std::string_view topic) const {
    return read_table<T>(rc_.graph().table(topic, table_definition::kind_t::join), key());
  }

  /// The value of `key` in the looked-up table `topic` (graph.lookup), if it has one.
  template <class T>
  std::optional<T> lookup(std::string_view topic, std::string_view key) const {
    return read_table<T>(rc_.graph().table(topic, table_definition::kind_t::lookup), key);
  }

  /// Schedules the graph's timer behavior (graph.on_timer) for this key in `delay`, with
  /// `payload` (of the timer codec's type). Durable with the batch: a timer set by a record
  /// that fails does not exist. Returns its id, for cancel_timer().
  template <class T>
  timer_id schedule(std::chrono::milliseconds delay, const T& payload) {
    if (delay.count() < 0)
      throw graph_error("ctx.schedule: negative delay (" + std::to_string(delay.count()) +
                        " ms); pass a delay of 0 or more, or a time with schedule_at");
    return schedule_due(rc_.now_ms() + delay.count(), payload);
  }
  /// schedule() at a wall-clock time; a time already past fires at once.
  template <class T>
  timer_id schedule_at(std::chrono::system_clock::time_point when, const T& payload) {
    return schedule_due(
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count(),
      payload);
  }
  /// Cancels a timer of this partition (any key's); false if it fired, was cancelled, or is
  /// unknown.
  bool cancel_timer(const timer_id& id) { return rc_.cancel_timer(id); }
  /// The engine's clock (the tester's virtual clock under the tester).
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point{std::chrono::milliseconds{rc_.now_ms()}};
  }

  /// Updates, for this key, every window of the graph's windowed table (graph.windowed) that
  /// the record's timestamp falls in: `update(std::optional<T> aggregate)` (nullopt: a new
  /// window) returns the window's new aggregate, of the window codec's type T. Durable with
  /// the batch, like a table change. A window already closed is left as it is: the record is
  /// late for it (the spec's late policy). A record without a timestamp is an error.
  template <class T, class F>
    requires std::invocable<F&, std::optional<T>>
  void update_windows(F update) {
    update_windows_at<T>(rc_.timestamp(), std::move(update));
  }
  /// update_windows() at an event time of the behavior's choice (ms since the epoch), read
  /// from the value, say.
  template <class T, class F>
    requires std::invocable<F&, std::optional<T>>
  void update_windows_at(int64_t event_ms, F update) {
    const auto& w = rc_.graph().window;
    if (!w)
      throw graph_error("ctx.update_windows: group '" + rc_.graph().group +
                        "' has no windowed table; declare one with graph.windowed(name, spec, "
                        "codec, results)");
    require_type<T>(w->codec, "ctx.update_windows<T> of windowed table '" + w->name + "'");
    rc_.update_windows(event_ms, [&](const std::optional<std::string>& bytes) {
      std::optional<T> current;
      if (bytes)
        w->codec.decode(*bytes, &current);
      T next = update(std::move(current));
      return w->codec.encode(&next);
    });
  }

  /// Defers this record's commit until the handle is called: its batch (table changes, emits,
  /// offsets) goes out only then, and is undone, the record processed again, if the partition
  /// crashes or moves first. At most max_in_flight records of a partition wait so; then it
  /// takes no more until handles are called (commit_handle.hpp).
  commit_handle defer_commit() { return rc_.defer_commit(); }

  const std::string& topic() const { return rc_.topic(); }
  int32_t partition() const { return rc_.partition(); }
  int64_t offset() const { return rc_.offset(); }
  /// Milliseconds since the epoch, or -1 when the record has none.
  int64_t timestamp() const { return rc_.timestamp(); }
  std::vector<header> headers() const { return rc_.headers(); }

private:
  template <class T>
  timer_id schedule_due(int64_t due_ms, const T& payload) {
    const auto& timer = rc_.graph().timer;
    if (!timer)
      throw graph_error("ctx.schedule: group '" + rc_.graph().group +
                        "' has no timer behavior; declare one with graph.on_timer(codec, "
                        "behavior)");
    return rc_.schedule_timer(due_ms, encode_for(timer->codec, "schedule a timer of",
                                                 rc_.graph().timers_topic(), payload));
  }

  template <class T>
  std::optional<T> read_table(const table_definition& t, std::string_view key) const {
    if (t.codec.type != std::type_index{typeid(T)})
      throw graph_error(std::string{"ctx."} + t.kind_name() + "<T>(\"" + t.topic +
                        "\"): T is not the value type of the table's " + t.codec.name + " codec");
    std::optional<T> out;
    auto bytes = rc_.table_read(t, key);
    if (!bytes)
      return out;
    try {
      t.codec.decode(*bytes, &out);
    } catch (const decode_error& e) {
      throw decode_error(std::string{t.kind_name()} + " table " + t.topic + ", key '" +
                         std::string{key.substr(0, 200)} + "': " + e.what());
    }
    return out;
  }

  record_context& rc_;
  const TableCodec& table_;
};

} // namespace partita
