#include "runtime/graph_definition.hpp"

#include <set>

namespace partita {

bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..")
    return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

const output_definition& graph_definition::output(std::string_view topic) const {
  for (const auto& out : outputs)
    if (out.topic == topic)
      return out;
  throw graph_error("group '" + group + "' emits to '" + std::string{topic} +
                    "', which is not a declared output; declare it with .output(\"" +
                    std::string{topic} + "\", codec)");
}

const input_definition* graph_definition::input(std::string_view topic) const {
  for (const auto& in : inputs)
    if (in.topic == topic)
      return &in;
  return nullptr;
}

std::vector<std::string> graph_definition::input_topics() const {
  std::vector<std::string> out;
  for (const auto& in : inputs)
    out.push_back(in.topic);
  if (!visitors.empty())
    out.push_back(visits_topic());
  return out;
}

const visitor_definition* graph_definition::visitor(std::string_view name) const {
  for (const auto& v : visitors)
    if (v.name == name)
      return &v;
  return nullptr;
}

const table_definition& graph_definition::table(std::string_view topic,
                                                table_definition::kind_t kind) const {
  for (const auto& t : tables)
    if (t.topic == topic && t.kind == kind)
      return t;
  auto name = kind == table_definition::kind_t::join ? "join" : "lookup";
  throw graph_error("group '" + group + "': ctx." + name + "(\"" + std::string{topic} +
                    "\") reads a table the graph does not declare; add graph." + name + "(\"" +
                    std::string{topic} + "\", codec)");
}

std::vector<std::string> graph_definition::table_topics(table_definition::kind_t kind) const {
  std::vector<std::string> out;
  for (const auto& t : tables)
    if (t.kind == kind)
      out.push_back(t.topic);
  return out;
}

void graph_definition::validate() const {
  if (!valid_topic_name(group))
    throw graph_error("group name '" + group +
                      "' is not valid: use 1-249 characters of [a-zA-Z0-9._-]");
  if (inputs.empty())
    throw graph_error("group '" + group + "' has no input; add one with .input(topic, codec, "
                      "behavior)");
  std::set<std::string> seen;
  for (const auto& in : inputs) {
    if (!valid_topic_name(in.topic))
      throw graph_error("group '" + group + "': input topic '" + in.topic +
                        "' is not a valid topic name (1-249 characters of [a-zA-Z0-9._-])");
    if (!seen.insert(in.topic).second)
      throw graph_error("group '" + group + "': input topic '" + in.topic +
                        "' is declared twice; declare each input once");
    if (in.topic == table_topic())
      throw graph_error("group '" + group + "': the table's changelog '" + in.topic +
                        "' cannot be an input of its own group");
  }
  std::set<std::string> outs;
  for (const auto& out : outputs) {
    if (!valid_topic_name(out.topic))
      throw graph_error("group '" + group + "': output topic '" + out.topic +
                        "' is not a valid topic name (1-249 characters of [a-zA-Z0-9._-])");
    if (!outs.insert(out.topic).second)
      throw graph_error("group '" + group + "': output topic '" + out.topic +
                        "' is declared twice; declare each output once");
    if (out.topic == table_topic())
      throw graph_error("group '" + group + "': '" + out.topic +
                        "' is the table's changelog; change the table with ctx.set_value");
  }
  std::set<std::string> tabs;
  for (const auto& t : tables) {
    std::string what = std::string{t.kind_name()} + " table '" + t.topic + "'";
    if (!valid_topic_name(t.topic))
      throw graph_error("group '" + group + "': " + what +
                        " is not a valid topic name (1-249 characters of [a-zA-Z0-9._-])");
    if (!tabs.insert(t.topic).second)
      throw graph_error("group '" + group + "': " + what +
                        " is declared twice; declare each table once, as a join or a lookup");
    if (t.topic == table_topic())
      throw graph_error("group '" + group + "': " + what +
                        " is the group's own table; read it with ctx.value()");
    if (seen.contains(t.topic) || outs.contains(t.topic))
      throw graph_error("group '" + group + "': " + what +
                        " is also an input or an output of the group; a table is written by "
                        "another group (or producer) and only read here");
  }
  for (const auto& p : punctuations) {
    if (p.interval.count() <= 0)
      throw graph_error("group '" + group + "': graph.every with an interval of " +
                        std::to_string(p.interval.count()) +
                        " ms; pass an interval of at least 1 ms");
    if (!persist)
      throw graph_error("group '" + group + "': graph.every runs over the keys of the group's "
                        "table, and the group has none; give the graph a table codec");
  }
  auto engine_topic = [&](const std::string& topic, const char* whose, const char* how) {
    if (!valid_topic_name(topic))
      throw graph_error("group '" + group + "': its " + whose + " changelog '" + topic +
                        "' is not a valid topic name; use a shorter group name");
    if (seen.contains(topic) || outs.contains(topic) || tabs.contains(topic))
      throw graph_error("group '" + group + "': '" + topic + "' is the changelog of the group's " +
                        whose + "; it cannot be an input, an output or a table; " + how);
  };
  if (timer || !visitors.empty())
    engine_topic(timers_topic(), "timers'", "set timers with ctx.schedule");
  if (!visitors.empty()) {
    engine_topic(visits_topic(), "visits'", "start visits with processor::visit_all");
    if (!persist)
      throw graph_error("group '" + group + "': visitor '" + visitors.front().name +
                        "' visits the keys of the group's table, and the group has none; give "
                        "the graph a table codec");
  }
  std::set<std::string> visitor_names;
  for (const auto& v : visitors) {
    if (v.name.empty() || v.name.size() > 200 || v.name.find('/') != std::string::npos)
      throw graph_error("group '" + group + "': visitor name '" + v.name.substr(0, 200) +
                        "' is empty, longer than 200 characters or has a '/'; name it as a "
                        "topic (it is started at /visits/<name>)");
    if (!visitor_names.insert(v.name).second)
      throw graph_error("group '" + group + "': visitor '" + v.name +
                        "' is declared twice; declare each visitor once");
  }
  if (window) {
    engine_topic(windows_topic(), "windowed table's", "update windows with ctx.update_windows");
    if (auto problem = window->spec.problem(); !problem.empty())
      throw graph_error("group '" + group + "': windowed table '" + window->name + "' has " +
                        problem);
    if (window->name.empty() || window->name.find('/') != std::string::npos)
      throw graph_error("group '" + group + "': windowed table name '" + window->name +
                        "' is empty or has a '/'; name it as a topic (it is queried at "
                        "/tables/<name>/<key>)");
  }
}

} // namespace partita
