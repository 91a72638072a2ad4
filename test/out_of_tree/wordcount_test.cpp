// The word count's behaviors tested with partita::tester: no Kafka, no threads, no test
// framework — a plain program that exits 1 when a check fails.

#include "wordcount_graphs.hpp"

#include "runtime/tester.hpp"

#include <iostream>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << "\n";
    ++failures;
  }
}
} // namespace

int main() {
  partita::tester tt;
  tt.add(wordcount_graph()).add(mentions_graph());
  for (int i = 0; i < 30; ++i)
    tt.consume("words", i % 3 == 0 ? "partita" : "kafka", "");
  check(tt.table_value<int64_t>("wordcount-table", "partita") == 10, "partita counted 10 times");
  check(tt.table_value<int64_t>("wordcount-table", "kafka") == 20, "kafka counted 20 times");
  // The mentions group joins the counts the word count wrote.
  tt.consume("mentions", "partita", "");
  tt.consume("mentions", "lmdb", "");
  check(tt.table_value<int64_t>("mentions-table", "partita") == 10, "the join sees the count");
  check(tt.table_value<int64_t>("mentions-table", "lmdb") == -1, "a word never counted");
  std::cout << (failures == 0 ? "wordcount_test: all checks passed" : "wordcount_test: failed")
            << std::endl;
  return failures == 0 ? 0 : 1;
}
