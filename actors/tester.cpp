// partita::tester (runtime/tester.hpp): its interface over the engine (actors/tester_engine.hpp).

#include "runtime/tester.hpp"

#include "actors/tester_engine.hpp"
#include "actors/windows.hpp"

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

int64_t tester::visit_bytes(std::string_view name, std::string bytes, std::string_view group) {
  auto [g, visitor] = engine_->visitor_of(name, group);
  visitor->codec.check(bytes);
  auto n = engine_->visit(*g, g->def.visits_topic(), visitor->handle, bytes);
  while (engine_->fire_next(engine_->clock)) {
  }
  return static_cast<int64_t>(n);
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

const erased_codec& tester::visitor_codec(std::string_view name, std::string_view group) const {
  return engine_->visitor_of(name, group).second->codec;
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
