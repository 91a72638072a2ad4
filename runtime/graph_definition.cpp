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
}

} // namespace partita
