#pragma once

#include "runtime/codec.hpp"
#include "runtime/context.hpp"
#include "runtime/graph_definition.hpp"

#include <concepts>
#include <memory>
#include <string>
#include <typeindex>

namespace partita {

/// A processor group, Goka's model: inputs with their behaviors, the group table (persist, with
/// `TableCodec`; changelog topic `<group>-table`), the outputs behaviors may emit to, and an
/// optional loop (`<group>-loop`) for re-keying within the group.
///
///   partita::group_graph<partita::int64_codec> graph{"clickcount"};
///   graph.input("clicks", partita::string_codec{}, [](auto& ctx, const std::string&) {
///     ctx.set_value(ctx.value().value_or(0) + 1);
///   });
///
/// `group_graph<>` (no TableCodec) is a group without a table.
template <class TableCodec = no_table>
class group_graph {
public:
  explicit group_graph(std::string group, TableCodec table = {})
    : table_(std::make_shared<TableCodec>(std::move(table))) {
    def_.group = std::move(group);
    if constexpr (context<TableCodec>::has_table) {
      def_.persist = true;
      def_.table_codec = erased_codec::of(*table_);
    }
  }

  /// Consumes `topic`, decoding values with `c`; `behavior(context<TableCodec>&, const value&)`
  /// runs for each record.
  template <codec C, class Behavior>
    requires std::invocable<Behavior&, context<TableCodec>&, const typename C::value_type&>
  group_graph& input(std::string topic, C c, Behavior behavior) {
    auto erased = erased_codec::of(c);
    def_.inputs.push_back(input_definition{std::move(topic), std::move(erased),
                                           make_handler(std::move(c), std::move(behavior))});
    return *this;
  }

  /// Declares a topic the behaviors may emit to, with the codec of its values. Keys are
  /// partitioned as Sarama (Goka) does.
  template <codec C>
  group_graph& output(std::string topic, C c) {
    def_.outputs.push_back(output_definition{std::move(topic), erased_codec::of(std::move(c))});
    return *this;
  }

  /// The loop: ctx.loopback(key, value) sends to `<group>-loop`, and `behavior` handles it.
  template <codec C, class Behavior>
    requires std::invocable<Behavior&, context<TableCodec>&, const typename C::value_type&>
  group_graph& loop(C c, Behavior behavior) {
    output(def_.loop_topic(), c);
    return input(def_.loop_topic(), std::move(c), std::move(behavior));
  }

  /// A co-partitioned table written by another group (its `<group>-table`) or any compacted
  /// topic, with the codec of its values: partition p of it is kept beside partition p of the
  /// inputs, recovered before they are processed, then kept current. Behaviors read the
  /// record's key with ctx.join<value_type>(topic). The topic must exist with the inputs'
  /// partition count.
  template <codec C>
  group_graph& join(std::string topic, C c) {
    return table(table_definition::kind_t::join, std::move(topic), std::move(c));
  }

  /// A table not co-partitioned with the inputs: the process holds all of its partitions,
  /// recovered before the inputs are processed. Behaviors read any key with
  /// ctx.lookup<value_type>(topic, key). The topic must exist.
  template <codec C>
  group_graph& lookup(std::string topic, C c) {
    return table(table_definition::kind_t::lookup, std::move(topic), std::move(c));
  }

  /// The timer behavior: `behavior(context<TableCodec>&, const payload&)` runs with the key of
  /// each timer ctx.schedule() set, when it is due, with the payload decoded by `c`. Timers are
  /// kept with the table (LMDB, and the changelog `<group>-timers`, which must exist
  /// co-partitioned and compacted) and fire once as far as the table is concerned.
  template <codec C, class Behavior>
    requires std::invocable<Behavior&, context<TableCodec>&, const typename C::value_type&>
  group_graph& on_timer(C c, Behavior behavior) {
    if (def_.timer)
      throw graph_error("group '" + def_.group + "': on_timer is declared twice; declare one "
                        "timer behavior and tell timers apart by their payload");
    auto erased = erased_codec::of(c);
    def_.timer = timer_definition{std::move(erased),
                                  make_handler(std::move(c), std::move(behavior))};
    return *this;
  }

  /// Punctuation: every `interval` of wall-clock time, `behavior(context<TableCodec>&)` runs
  /// with the context of each key of each partition's table, in one batch per partition (its
  /// changes durable as a record's), between input batches: for expiry and periodic emits. A
  /// run cut short by a crash runs again at the next interval, on whichever member owns the
  /// partition then. Under the tester, advance() runs it.
  template <class Behavior>
    requires std::invocable<Behavior&, context<TableCodec>&>
  group_graph& every(std::chrono::milliseconds interval, Behavior behavior) {
    def_.punctuations.push_back(punctuation_definition{
      interval, [behavior = std::move(behavior), table = table_](record_context& rc) mutable {
        context<TableCodec> ctx{rc, *table};
        behavior(ctx);
      }});
    return *this;
  }

  /// The windowed table `name`: an aggregate of codec `c` per key and window of `spec` (tumbling
  /// or hopping, in event time), which behaviors update with ctx.update_windows<T>(fn). It is
  /// kept in LMDB and in the changelog `<group>-windows` (which must exist co-partitioned and
  /// compacted); each window's final aggregate goes to the output `results` (declared here,
  /// with `c`) once, when the partition's stream time passes its end plus the grace period.
  /// Queried at /tables/<name>/<key>. One per graph.
  template <codec C>
  group_graph& windowed(std::string name, window_spec spec, C c, std::string results) {
    if (def_.window)
      throw graph_error("group '" + def_.group + "': windowed is declared twice ('" +
                        def_.window->name + "', '" + name + "'); declare one windowed table "
                        "per group (a second one in a group of its own)");
    def_.window = window_definition{std::move(name), spec, erased_codec::of(c), results};
    return output(std::move(results), std::move(c));
  }

  /// The visitor `name`: processor::visit_all(name, value) runs `behavior(context<TableCodec>&,
  /// const value&)` with the context of every key of the group table, in each partition, in
  /// chunks between input records, with `value` decoded by `c`. What it changes is durable as
  /// a record's; a partition that moves mid-visit finishes it on its new owner. The visits go
  /// through `<group>-visits` (co-partitioned with the inputs) and their progress through
  /// `<group>-timers` (compacted), as Partita creates them on the embedded cluster.
  template <codec C, class Behavior>
    requires std::invocable<Behavior&, context<TableCodec>&, const typename C::value_type&>
  group_graph& visitor(std::string name, C c, Behavior behavior) {
    auto erased = erased_codec::of(c);
    def_.visitors.push_back(visitor_definition{std::move(name), std::move(erased),
                                               make_handler(std::move(c), std::move(behavior))});
    return *this;
  }

  /// The graph as the engine runs it; validate() throws graph_error for a graph that cannot run.
  const graph_definition& definition() const { return def_; }

private:
  template <codec C>
  group_graph& table(table_definition::kind_t kind, std::string topic, C c) {
    def_.tables.push_back(table_definition{kind, std::move(topic), erased_codec::of(std::move(c))});
    return *this;
  }

  template <class C, class Behavior>
  std::function<void(record_context&)> make_handler(C c, Behavior behavior) {
    // The table codec is shared: the handlers outlive this builder.
    return [c = std::move(c), behavior = std::move(behavior),
            table = table_](record_context& rc) mutable {
      auto value = c.decode(rc.payload());
      context<TableCodec> ctx{rc, *table};
      behavior(ctx, value);
    };
  }

  std::shared_ptr<TableCodec> table_;
  graph_definition def_;
};

} // namespace partita
