#define CAF_SUITE actors.table_faults

// A group with a joined and a looked-up table (partita-table-member: support/orders_graph.hpp)
// as processes of their own: a member killed with SIGKILL mid-stream while a broker is down and
// the leaders of the joined and the looked-up tables move, and started again on its store; the
// other member follows every partition of the joined table (recover_ahead). Every order is
// counted once, with the joined name and the looked-up price, in the table topic and in LMDB.

#include "runtime/processor.hpp"
#include "test/support/group_members.hpp"
#include "test/support/orders_graph.hpp"
#include "test/support/running.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <csignal>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int partitions = 4;
constexpr int users = 200;
constexpr int items = 50;

/// Order n: user n % users orders item (7n) % items, whose price is its number + 1.
std::string item_of(int64_t n) { return "item" + std::to_string((n * 7) % items); }

struct fixture : group_lab {
  steady_load load{bootstrap, "orders", users, "u", item_of};
  fixture()
      : group_lab("table-faults-test",
                  {"user-events", "users-table", "orders", "orders-table", "orders-dlq"},
                  partitions) {
    cluster.create_topic("prices", 3, 3); // not co-partitioned: a lookup
  }
  ~fixture() { load.stop(); }
  void start(member& m, bool recover_ahead = false) {
    auto args = member_args(m, bootstrap, "orders");
    if (recover_ahead)
      args.emplace_back("--recover-ahead");
    m.start(PARTITA_TABLE_MEMBER_BIN, args, dir);
  }
  int64_t committed() { return committed_total(bootstrap, "orders", "orders", partitions); }

  /// What orders_graph makes of the input topic: per user, name, total and count.
  std::map<std::string, json> expected() {
    std::map<std::string, json> out;
    for (const auto& r : read_topic(bootstrap, "orders")) {
      auto& v = out[r.key];
      if (v.is_null())
        v = json{{"name", "name-" + r.key.substr(1)}, {"total", 0}, {"count", 0}};
      v["total"] = v["total"].get<int64_t>() + std::stoll(r.value.substr(4)) + 1;
      v["count"] = v["count"].get<int64_t>() + 1;
    }
    return out;
  }
};

std::map<std::string, json> parsed(const std::map<std::string, std::string>& table) {
  std::map<std::string, json> out;
  for (const auto& [k, v] : table)
    out[k] = json::parse(v);
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(table_fault_tests, fixture)

CAF_TEST(a member killed mid-stream while the joined and looked-up tables move counts once) {
  std::vector<std::pair<std::string, std::string>> names;
  for (int i = 0; i < users; ++i) {
    names.emplace_back("u" + std::to_string(i), "old-" + std::to_string(i));
    names.emplace_back("u" + std::to_string(i), "name-" + std::to_string(i));
  }
  CAF_REQUIRE_EQUAL(produce(bootstrap, "user-events", names), names.size());
  std::vector<std::pair<std::string, std::string>> prices;
  for (int j = 0; j < items; ++j)
    prices.emplace_back("item" + std::to_string(j), std::to_string(j + 1));
  CAF_REQUIRE_EQUAL(produce(bootstrap, "prices", prices), prices.size());
  {
    running<processor> writer{embedded_config(cluster, dir / "users"), users_graph()};
    CAF_REQUIRE(wait_until([&] { return writer->stats().records == 2 * users; }, 60s));
  }
  auto& a = members[0];
  auto& b = members[1];
  start(a);
  start(b, /*recover_ahead=*/true);
  // Once the two share the partitions: a follows the joined table's partitions beside its own,
  // b every partition of it.
  CAF_CHECK(wait_until(
    [&] {
      auto own = a.running_partitions();
      return own > 0 && own < partitions && a.running_partitions("users-table") == own &&
             b.running_partitions("users-table") == partitions;
    },
    90s, 200ms));
  load.start();
  CAF_REQUIRE(wait_until([&] { return committed() > 1000; }, 90s, 100ms));
  cluster.broker_down(3); // a crash: the controller moves its leaders after 2 s
  for (int p = 0; p < 3; ++p)
    cluster.move_leader("prices", p, p % 2 + 1);
  auto before = committed();
  CAF_REQUIRE(wait_until([&] { return committed() > before + 1000; }, 90s, 100ms));
  a.end(SIGKILL); // mid-stream, with batches in flight
  for (int p = 0; p < partitions; ++p)
    cluster.move_leader("users-table", p, p % 2 + 1);
  start(a);
  before = committed();
  CAF_REQUIRE(wait_until([&] { return committed() > before + 1000; }, 90s, 100ms));
  cluster.broker_up(3);
  for (int p = 0; p < partitions; ++p)
    cluster.move_leader("users-table", p, 3);
  before = committed();
  CAF_REQUIRE(wait_until([&] { return committed() > before + 1000; }, 90s, 100ms));
  load.stop();
  // a alone takes every partition and commits every order.
  b.end(SIGTERM);
  CAF_REQUIRE(wait_until([&] { return a.running_partitions() == partitions; }, 120s, 200ms));
  CAF_REQUIRE(wait_until(
    [&] { return test::all_committed(bootstrap, "orders", "orders", partitions); }, 120s,
    200ms));
  a.end(SIGTERM);
  auto want = expected();
  CAF_MESSAGE(load.produced() << " orders over " << want.size() << " users");
  CAF_CHECK_EQUAL(want.size(), static_cast<std::size_t>(users));
  CAF_CHECK(parsed(latest_by_key(read_topic(bootstrap, "orders-table"))) == want);
  CAF_CHECK(parsed(stored_values(a.state, "orders", partitions)) == want);
}

CAF_TEST_FIXTURE_SCOPE_END()
