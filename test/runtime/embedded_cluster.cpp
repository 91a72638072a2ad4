#define CAF_SUITE runtime.embedded_cluster

#include "runtime/embedded_cluster.hpp"

#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <future>
#include <set>

using namespace partita;
using namespace partita::test;

namespace {

std::vector<std::pair<std::string, std::string>> records(int n, const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back("user-" + std::to_string(i % 10), prefix + std::to_string(i));
  return out;
}

} // namespace

CAF_TEST(records produced are consumed back exactly) {
  embedded_cluster cluster{3};
  cluster.create_topic("clicks", 4, 3);
  auto bootstrap = cluster.bootstrap_servers();
  CAF_REQUIRE_EQUAL(produce(bootstrap, "clicks", records(1000, "v")), 1000u);
  auto back = read_topic(bootstrap, "clicks");
  CAF_CHECK_EQUAL(back.size(), 1000u);
  auto counts = count_by_key(back);
  CAF_CHECK_EQUAL(counts.size(), 10u);
  for (const auto& [key, n] : counts)
    CAF_CHECK_EQUAL(n, 100);
}

CAF_TEST(one key always lands in one partition) {
  embedded_cluster cluster{1};
  cluster.create_topic("t", 8, 1);
  auto bootstrap = cluster.bootstrap_servers();
  produce(bootstrap, "t", records(200, "v"));
  std::map<std::string, std::set<int32_t>> where;
  for (const auto& r : read_topic(bootstrap, "t"))
    where[r.key].insert(r.partition);
  for (const auto& [key, partitions] : where)
    CAF_CHECK_EQUAL(partitions.size(), 1u);
}

CAF_TEST(records produced while a broker is down arrive when it is back) {
  embedded_cluster cluster{3};
  cluster.create_topic("clicks", 3, 3);
  auto bootstrap = cluster.bootstrap_servers();
  for (int32_t p = 0; p < 3; ++p)
    cluster.move_leader("clicks", p, p + 1);
  // Partition 0's leader goes away: its records wait in the producer until the broker returns.
  cluster.broker_down(1);
  auto acked = std::async(std::launch::async, [&] { return produce(bootstrap, "clicks", records(300, "v")); });
  auto served = [&] {
    return watermarks(bootstrap, "clicks", 1).second > 0 &&
           watermarks(bootstrap, "clicks", 2).second > 0;
  };
  CAF_REQUIRE(wait_until(served));
  CAF_CHECK(acked.wait_for(std::chrono::seconds{0}) != std::future_status::ready);
  cluster.broker_up(1);
  CAF_CHECK_EQUAL(acked.get(), 300u);
  CAF_CHECK_EQUAL(read_topic(bootstrap, "clicks").size(), 300u);
}

CAF_TEST(a moved leader keeps serving) {
  embedded_cluster cluster{3};
  cluster.create_topic("t", 2, 3);
  auto bootstrap = cluster.bootstrap_servers();
  produce(bootstrap, "t", records(100, "a"));
  cluster.move_leader("t", 0, 2);
  cluster.move_leader("t", 1, 3);
  produce(bootstrap, "t", records(100, "b"));
  CAF_CHECK_EQUAL(read_topic(bootstrap, "t").size(), 200u);
}

CAF_TEST(bad fault arguments are refused with a clear error) {
  embedded_cluster cluster{3};
  std::string message;
  try {
    cluster.broker_down(7);
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  CAF_CHECK_EQUAL(message, "no broker 7 (brokers are 1..3)");
}

CAF_TEST(api keys and errors are found by name) {
  CAF_CHECK_EQUAL(api_key_by_name("Fetch"), 1);
  CAF_CHECK_EQUAL(api_key_by_name("OffsetCommit"), 8);
  CAF_CHECK_EQUAL(api_key_by_name("Nope"), -1);
  CAF_CHECK_EQUAL(error_by_name("NOT_LEADER_FOR_PARTITION"),
                  RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  CAF_CHECK_EQUAL(error_by_name("_TRANSPORT"), RD_KAFKA_RESP_ERR__TRANSPORT);
  CAF_CHECK_EQUAL(error_by_name("NOPE"), RD_KAFKA_RESP_ERR__END);
}
