// Goka's 4-tests: the messaging processors (../3-messaging/messaging.hpp) tested with
// partita::tester, as Goka's example tests them with its tester: no Kafka, no threads. A plain
// program: it prints each check that fails and exits 1 then.

#include "apps/examples/3-messaging/messaging.hpp"
#include "runtime/tester.hpp"

#include <iostream>

using namespace messaging;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok      " : "FAILED  ") << what << std::endl;
  failures += ok ? 0 : 1;
}

/// Every processor of the messaging service in one tester.
partita::tester whole_service() {
  partita::tester tt;
  tt.add(collector()).add(blocker()).add(translator()).add(filter()).add(detector());
  return tt;
}

std::vector<message> feed(const partita::tester& tt, const std::string& user) {
  return tt.table_value<std::vector<message>>("collector-table", user).value_or(
    std::vector<message>{});
}

} // namespace

int main() {
  {
    partita::tester tt{collector()};
    for (int i = 0; i < 7; ++i)
      tt.consume(received_stream, "Alice", message{"Bob", "Alice", "message " + std::to_string(i)});
    auto list = feed(tt, "Alice");
    check(list.size() == max_messages && list.front().content == "message 2" &&
            list.back().content == "message 6",
          "the collector keeps a user's last 5 messages");
  }
  {
    auto tt = whole_service();
    auto received = tt.output(received_stream);
    tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "hello"});
    tt.consume(block_stream, "Bob", block_event{});
    tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "buy now"});
    tt.consume(sent_stream, "Charlie", message{"Charlie", "Alice", "lunch?"});
    tt.consume(block_stream, "Bob", block_event{true});
    tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "sorry"});
    auto list = feed(tt, "Alice");
    check(list.size() == 3 && list[0].content == "hello" && list[1].from == "Charlie" &&
            list[2].content == "sorry",
          "the filter drops the messages of a blocked sender, and not after the unblock");
    check(received.size() == 3, "three messages reached message_received");
  }
  {
    auto tt = whole_service();
    tt.consume(translate_stream, "together", std::string{"t°9e+her"});
    tt.set_table_value("translator-table", "lunch", std::string{"1[_]n<)-("});
    tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "lunch together"});
    auto list = feed(tt, "Alice");
    check(!list.empty() && list.back().content == "1[_]n<)-( t°9e+her",
          "the filter translates each word it finds in the translator's table");
  }
  {
    auto tt = whole_service();
    auto blocks = tt.output(block_stream);
    for (int64_t i = 0; i < min_messages; ++i)
      tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "spam"});
    auto bob = tt.table_value<counters>("detector-table", "Bob").value_or(counters{});
    auto alice = tt.table_value<counters>("detector-table", "Alice").value_or(counters{});
    check(bob.sent == min_messages && alice.received == min_messages,
          "the detector counts what each user sends and, through its loop, receives");
    check(blocks.size() == 1 && blocks.next()->key == "Bob",
          "the detector blocks Bob once he has sent 200 messages and received none");
    check(tt.table_value<block_value>("blocker-table", "Bob").value_or(block_value{}).blocked,
          "the blocker holds Bob as blocked");
    tt.consume(sent_stream, "Bob", message{"Bob", "Alice", "one more"});
    check(feed(tt, "Alice").back().content == "spam", "Bob's next message is dropped");
  }
  std::cout << (failures == 0 ? "4-tests: every check passed" : "4-tests: checks failed")
            << std::endl;
  return failures == 0 ? 0 : 1;
}
