#pragma once

// The engine behind partita::tester (runtime/tester.hpp): each record runs through the
// partition actor's own record path (engine_context, run_record, visit_keys, fire_timer,
// dead_letter) over a real LMDB store, in the calling thread. What differs from Kafka is only
// the transport: topics are in-memory logs. Internal to actors/tester.cpp.

#include "runtime/tester.hpp"

#include "actors/due_timers.hpp"
#include "persistence/partition_store.hpp"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>

namespace partita {

struct tester::engine final : detail::table_reader {
  struct group {
    graph_definition def; // a copy: the user's graph may go away
    std::string dead_letter_topic; // emits point at it
    std::string timers_topic;      // the firing timers' records name it
    std::string table_topic;       // punctuations' records name it
    std::vector<int64_t> next_punctuation; // when each of graph.every runs next
    std::unique_ptr<partition_store> store;
  };

  explicit engine(tester_config c) : cfg(std::move(c)), clock(cfg.start_ms) {}

  ~engine() override {
    groups.clear(); // close the stores first
    if (temporary) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  /// The tested group whose table is `topic`, or nullptr.
  group* owner(std::string_view topic) {
    for (auto& g : groups)
      if (g->def.persist && g->def.table_topic() == topic)
        return g.get();
    return nullptr;
  }
  const group* owner(std::string_view topic) const {
    return const_cast<engine*>(this)->owner(topic);
  }

  std::optional<std::string> read(const table_definition& t, std::string_view key,
                                  int32_t) const override {
    return value(t.topic, key);
  }

  /// The value of `key` in `table`: the store of the tested group writing it, else what the
  /// test set.
  std::optional<std::string> value(std::string_view table, std::string_view key) const {
    if (const auto* g = owner(table))
      return g->store->get(key);
    auto values = tables.find(table);
    if (values == tables.end())
      return std::nullopt;
    auto v = values->second.find(key);
    if (v == values->second.end())
      return std::nullopt;
    return v->second;
  }

  /// Appends `r` to its topic's log, with the next offset; returns the stored copy.
  const test_record& append(test_record r) {
    auto& log = logs[r.topic];
    r.offset = static_cast<int64_t>(log.size());
    log.push_back(std::move(r));
    return log.back();
  }

  /// Runs `todo`, then what it makes that a tested graph consumes, until nothing is left.
  void deliver(std::deque<test_record> todo) {
    while (!todo.empty()) {
      auto rec = std::move(todo.front());
      todo.pop_front();
      for (auto& g : groups)
        if (const auto* in = g->def.input(rec.topic))
          run(*g, *in, rec, todo);
    }
  }

  /// What a partition actor does for one record of a batch, then produces its effects.
  void run(group& g, const input_definition& in, const test_record& rec,
           std::deque<test_record>& todo) {
    partition_store::write_batch batch{*g.store};
    detail::engine_context ctx{g.def, in.topic, batch, this};
    ctx.set_now(clock);
    ctx.set_record(detail::engine_record{rec.key, rec.value ? std::string_view{*rec.value} : "",
                                         0, rec.offset, rec.timestamp, nullptr, &rec.headers});
    for (int64_t attempts = 1;; ++attempts) {
      auto error = detail::run_record(ctx, in);
      if (!error)
        break;
      check_policy(ctx, *error);
      if (attempts > cfg.poison_retries) {
        detail::dead_letter(ctx, g.dead_letter_topic, *error);
        break;
      }
    }
    finish(g, batch, ctx, todo);
  }

  /// A record (or timer) failed: throws record_error unless the policy dead-letters it.
  void check_policy(const detail::engine_context& ctx, const std::string& error) const {
    if (cfg.on_poison != poison_policy::dead_letter)
      throw record_error(detail::record_name(ctx) + " failed: " + error +
                         (cfg.on_poison == poison_policy::retry
                            ? "; on Kafka its partition restarts and tries it again"
                            : "; on Kafka its partition stops"));
  }

  /// Commits a batch and produces its effects: the table's changelog, then the emits.
  void finish(group& g, partition_store::write_batch& batch, detail::engine_context& ctx,
              std::deque<test_record>& todo) {
    std::vector<std::pair<std::string, std::optional<std::string>>> changes{
      batch.changes().begin(), batch.changes().end()};
    std::sort(changes.begin(), changes.end());
    ctx.close_windows();
    batch.commit();
    auto produce = [&](test_record out) {
      out.timestamp = clock;
      const auto& stored = append(std::move(out));
      if (consumed(stored.topic))
        todo.push_back(stored);
    };
    if (g.def.persist)
      for (auto& [key, value] : changes)
        produce(test_record{g.def.table_topic(), 0, -1, key, std::move(value), {}});
    for (auto& e : ctx.emits())
      produce(test_record{*e.topic, 0, -1, std::move(e.key), std::move(e.value),
                          std::move(e.headers)});
  }

  /// Runs what is due first at `until` — a timer of any tested group (at its due time) or a
  /// punctuation (at its time; timers first at the same time) — with what it makes; false when
  /// nothing is due.
  bool fire_next(int64_t until) {
    group* first = nullptr;
    std::optional<detail::due_timer> timer;
    for (auto& g : groups) {
      if (!g->def.timer)
        continue;
      auto due = detail::due_timers(*g->store, until, 1);
      if (!due.empty() && (!timer || due.front().id.due_ms < timer->id.due_ms)) {
        first = g.get();
        timer = std::move(due.front());
      }
    }
    group* punctuated = nullptr;
    std::size_t which = 0;
    for (auto& g : groups)
      for (std::size_t i = 0; i < g->next_punctuation.size(); ++i)
        if (g->next_punctuation[i] <= until &&
            (!punctuated || g->next_punctuation[i] < punctuated->next_punctuation[which])) {
          punctuated = g.get();
          which = i;
        }
    if (punctuated && (!timer || punctuated->next_punctuation[which] < timer->id.due_ms))
      return punctuate(*punctuated, which);
    if (!timer)
      return false;
    clock = std::max(clock, timer->id.due_ms);
    auto& g = *first;
    partition_store::write_batch batch{*g.store};
    detail::engine_context ctx{g.def, g.timers_topic, batch, this};
    ctx.set_now(clock);
    for (int64_t attempts = 1;; ++attempts) {
      auto error = detail::fire_timer(ctx, batch, *g.def.timer, *timer, 0);
      if (!error)
        break;
      check_policy(ctx, *error);
      if (attempts > cfg.poison_retries) {
        detail::dead_letter(ctx, g.dead_letter_topic, *error);
        batch.set_side(side::timers, timer->timer_key, std::nullopt);
        break;
      }
    }
    std::deque<test_record> todo;
    finish(g, batch, ctx, todo);
    deliver(std::move(todo));
    return true;
  }

  /// Runs punctuation `which` of `g` at its time, over every key of its table.
  bool punctuate(group& g, std::size_t which) {
    auto& at = g.next_punctuation[which];
    clock = std::max(clock, at);
    at += g.def.punctuations[which].interval.count();
    visit(g, g.table_topic, g.def.punctuations[which].handle, {});
    return true;
  }

  /// Runs `handle` over every key of `g`'s table in one batch (a punctuation's on the table
  /// topic, a visitor's on the visits topic), then what it makes; returns the keys visited.
  std::size_t visit(group& g, const std::string& topic,
                    const std::function<void(record_context&)>& handle, std::string_view payload) {
    partition_store::write_batch batch{*g.store};
    detail::engine_context ctx{g.def, topic, batch, this};
    ctx.set_now(clock);
    auto run = detail::visit_keys(ctx, *g.store, {}, handle, payload, 0, clock,
                                  [](std::size_t) { return false; },
                                  [&](const std::string&, const std::string& error) {
                                    check_policy(ctx, error);
                                    detail::dead_letter(ctx, g.dead_letter_topic, error);
                                    return true;
                                  });
    std::deque<test_record> todo;
    finish(g, batch, ctx, todo);
    deliver(std::move(todo));
    return run.count;
  }

  /// The tested group with visitor `name` (the one named `only`, if given) and the visitor;
  /// throws graph_error when none has it, or several do and `only` is empty.
  std::pair<group*, const visitor_definition*> visitor_of(std::string_view name,
                                                          std::string_view only) const {
    std::pair<group*, const visitor_definition*> found{nullptr, nullptr};
    for (const auto& g : groups)
      if (only.empty() || g->def.group == only)
        if (const auto* v = g->def.visitor(name)) {
          if (found.first)
            throw graph_error("tester.visit_all(\"" + std::string{name} + "\"): groups '" +
                              found.first->def.group + "' and '" + g->def.group +
                              "' both have that visitor; name the group");
          found = {g.get(), v};
        }
    if (!found.first)
      throw graph_error("tester.visit_all(\"" + std::string{name} + "\"): no tested group" +
                        (only.empty() ? "" : " '" + std::string{only} + "'") +
                        " has that visitor (graph.visitor)");
    return found;
  }

  bool consumed(std::string_view topic) const {
    return std::any_of(groups.begin(), groups.end(),
                       [&](const auto& g) { return g->def.input(topic) != nullptr; });
  }

  tester_config cfg;
  int64_t clock; // the virtual clock, milliseconds since the epoch
  std::filesystem::path dir;
  bool temporary = false;
  std::vector<std::unique_ptr<group>> groups;
  std::map<std::string, std::vector<test_record>, std::less<>> logs;
  /// Tables the graphs join or look up that no tested group writes: key -> value.
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> tables;
};

} // namespace partita
