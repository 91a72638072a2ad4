// partita::tester (runtime/tester.hpp): each record runs through the partition actor's own
// record path (engine_context, run_record, dead_letter) over a real LMDB store, in the calling
// thread. What differs from Kafka is only the transport: topics are in-memory logs.

#include "runtime/tester.hpp"

#include "actors/engine_context.hpp"
#include "actors/windows.hpp"
#include "persistence/partition_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <system_error>

namespace partita {

std::optional<std::string> test_record::header_value(std::string_view name) const {
  for (const auto& h : headers)
    if (h.name == name)
      return h.value;
  return std::nullopt;
}

std::optional<test_record> tester::queue::next() {
  if (at_ >= log_->size())
    return std::nullopt;
  return (*log_)[at_++];
}

std::size_t tester::queue::size() const {
  return log_->size() - std::min(at_, log_->size());
}

void tester::queue::seek_to_end() {
  at_ = log_->size();
}

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
    partition_store::write_batch batch{*g.store};
    detail::engine_context ctx{g.def, g.table_topic, batch, this};
    ctx.set_now(clock);
    detail::punctuate(ctx, *g.store, g.def.punctuations[which], 0, clock,
                      [&](const std::string&, const std::string& error) {
                        check_policy(ctx, error);
                        detail::dead_letter(ctx, g.dead_letter_topic, error);
                      });
    std::deque<test_record> todo;
    finish(g, batch, ctx, todo);
    deliver(std::move(todo));
    return true;
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

tester::tester(tester_config cfg) : engine_(std::make_unique<engine>(std::move(cfg))) {
  if (engine_->cfg.state_dir.empty()) {
    auto pattern = (std::filesystem::temp_directory_path() / "partita-tester-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(),
                              "partita::tester: cannot create a directory for its stores in " +
                                std::filesystem::temp_directory_path().string());
    engine_->dir = pattern;
    engine_->temporary = true;
  } else {
    engine_->dir = engine_->cfg.state_dir;
  }
}

tester::tester(tester&&) noexcept = default;
tester& tester::operator=(tester&&) noexcept = default;
tester::~tester() = default;

std::chrono::milliseconds tester::now() const {
  return std::chrono::milliseconds{engine_->clock};
}

void tester::advance(std::chrono::milliseconds by) {
  if (by.count() < 0)
    throw std::invalid_argument("tester.advance: negative duration (" +
                                std::to_string(by.count()) + " ms); the clock only moves on");
  auto until = engine_->clock + by.count();
  while (engine_->fire_next(until)) {
  }
  engine_->clock = until;
}

std::size_t tester::pending_timers(std::string_view group) const {
  for (const auto& g : engine_->groups)
    if (g->def.group == group)
      return g->store->side_size(side::timers);
  throw graph_error("tester.pending_timers(\"" + std::string{group} +
                    "\"): no tested group has that name");
}

tester& tester::add(const graph_definition& graph) {
  graph.validate();
  for (const auto& g : engine_->groups)
    if (g->def.group == graph.group)
      throw graph_error("tester: group '" + graph.group + "' is added twice; add each once");
  auto g = std::make_unique<engine::group>();
  g->def = graph;
  g->dead_letter_topic = graph.dead_letter_topic();
  g->timers_topic = graph.timers_topic();
  g->table_topic = graph.table_topic();
  for (const auto& p : graph.punctuations)
    g->next_punctuation.push_back(engine_->clock + p.interval.count());
  store_config sc;
  sc.dir = partition_store::path_for(engine_->dir, graph.group, graph.table_topic(), 0);
  sc.initial_map_size = std::size_t{8} << 20;
  g->store = std::make_unique<partition_store>(sc);
  engine_->groups.push_back(std::move(g));
  return *this;
}

void tester::consume_bytes(std::string_view topic, std::string_view key, std::string bytes,
                           consume_options opts) {
  input_codec(topic); // throws when no tested graph consumes it
  std::deque<test_record> todo;
  todo.push_back(engine_->append(test_record{std::string{topic}, 0,
                                             opts.timestamp >= 0 ? opts.timestamp
                                                                 : engine_->clock,
                                             std::string{key}, std::move(bytes),
                                             std::move(opts.headers)}));
  engine_->deliver(std::move(todo));
  // Timers due now (scheduled with no delay) fire at once, as they would on Kafka.
  while (engine_->fire_next(engine_->clock)) {
  }
}

std::optional<std::string> tester::table_bytes(std::string_view table,
                                               std::string_view key) const {
  table_codec(table); // throws for a table nobody declares
  return engine_->value(table, key);
}

void tester::set_table_bytes(std::string_view table, std::string_view key,
                             std::optional<std::string> bytes) {
  table_codec(table);
  if (auto* g = engine_->owner(table)) {
    partition_store::write_batch batch{*g->store};
    batch.set(key, bytes);
    batch.commit();
    return;
  }
  auto& values = engine_->tables[std::string{table}];
  if (bytes)
    values.insert_or_assign(std::string{key}, std::move(*bytes));
  else if (auto it = values.find(key); it != values.end())
    values.erase(it);
}

tester::queue tester::output(std::string_view topic) {
  bool known = false;
  for (const auto& g : engine_->groups) {
    const auto& d = g->def;
    known = known || d.input(topic) != nullptr || d.dead_letter_topic() == topic ||
            (d.persist && d.table_topic() == topic) ||
            std::any_of(d.outputs.begin(), d.outputs.end(),
                        [&](const auto& o) { return o.topic == topic; });
  }
  if (!known)
    throw graph_error("tester.output(\"" + std::string{topic} +
                      "\"): no tested graph produces or consumes it; name an output, a loop, "
                      "a group's table or its dead-letter topic");
  const auto& log = engine_->logs[std::string{topic}];
  return queue{&log, log.size()};
}

const erased_codec& tester::input_codec(std::string_view topic) const {
  for (const auto& g : engine_->groups)
    if (const auto* in = g->def.input(topic))
      return in->codec;
  throw graph_error("tester: no tested graph consumes '" + std::string{topic} +
                    "'; add the graph that does (tester.add) or check the topic's name");
}

const erased_codec& tester::table_codec(std::string_view table) const {
  if (const auto* g = engine_->owner(table))
    return g->def.table_codec;
  for (const auto& g : engine_->groups)
    for (const auto& t : g->def.tables)
      if (t.topic == table)
        return t.codec;
  throw graph_error("tester: '" + std::string{table} +
                    "' is neither a tested group's table (<group>-table of a group with a "
                    "table codec) nor a table the tested graphs join or look up");
}

const erased_codec& tester::window_codec(std::string_view name) const {
  for (const auto& g : engine_->groups)
    if (g->def.window && g->def.window->name == name)
      return g->def.window->codec;
  throw graph_error("tester: no tested group has a windowed table '" + std::string{name} +
                    "' (graph.windowed)");
}

std::vector<window_entry> tester::window_bytes(std::string_view name,
                                               std::string_view key) const {
  window_codec(name); // throws for a name nobody declares
  for (const auto& g : engine_->groups)
    if (g->def.window && g->def.window->name == name)
      return windows_of(*g->store, *g->def.window, key);
  return {};
}

const erased_codec& tester::output_codec(const test_record& r) const {
  for (const auto& g : engine_->groups) {
    for (const auto& o : g->def.outputs)
      if (o.topic == r.topic)
        return o.codec;
    if (g->def.dead_letter_topic() == r.topic)
      return input_codec(r.header_value("partita.topic").value_or(""));
  }
  if (engine_->owner(r.topic) != nullptr)
    return table_codec(r.topic);
  return input_codec(r.topic);
}

} // namespace partita
