#pragma once

// The graphs of the word count, shared by the program (wordcount.cpp, on the embedded cluster)
// and its test (wordcount_test.cpp, with partita::tester): the same behaviors in both.

#include "runtime/group_graph.hpp"

#include <string>

/// Counts each word (the record's key).
inline partita::group_graph<partita::int64_codec> wordcount_graph() {
  partita::group_graph<partita::int64_codec> graph{"wordcount"};
  graph.input("words", partita::string_codec{},
              [](partita::context<partita::int64_codec>& ctx, const std::string&) {
                ctx.set_value(ctx.value().value_or(0) + 1);
              });
  return graph;
}

/// Each mentioned word takes the word's count, joined from the word count's table.
inline partita::group_graph<partita::int64_codec> mentions_graph() {
  partita::group_graph<partita::int64_codec> graph{"mentions"};
  graph.join("wordcount-table", partita::int64_codec{});
  graph.input("mentions", partita::string_codec{},
              [](partita::context<partita::int64_codec>& ctx, const std::string&) {
                ctx.set_value(ctx.join<int64_t>("wordcount-table").value_or(-1));
              });
  return graph;
}
