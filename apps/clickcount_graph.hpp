#pragma once

// The click counter (Goka's 2-clicks example): counts the records of each key of `clicks`.

#include "runtime/group_graph.hpp"

#include <string>

namespace partita::apps {

/// Group `group` counts the records per key of `topic` in its table (decimal int64 values).
inline group_graph<int64_codec> clickcount_graph(std::string group, std::string topic) {
  group_graph<int64_codec> graph{std::move(group)};
  graph.input(std::move(topic), bytes_codec{}, [](auto& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  return graph;
}

} // namespace partita::apps
