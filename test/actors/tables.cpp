#define CAF_SUITE actors.tables

// Joins, lookups and views on the embedded cluster (docs/tables.md): exact results, views that
// ride out broker faults, and values a codec cannot read (the view serves the other keys; an
// order that reads one is dead-lettered, naming the table and key). Members killed mid-stream:
// actors.table_faults.

#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/processor.hpp"
#include "runtime/view.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/orders_graph.hpp"
#include "test/support/running.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;
using nlohmann::json;

namespace {

constexpr int users = 200;
constexpr int items = 50;

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-tables-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();
  /// One producer for the whole test: a client per chunk takes ephemeral ports that a mock
  /// broker coming back up may need again.
  kafka_producer producer{{{"bootstrap.servers", bootstrap}}};

  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  processor_config config(const std::string& state) {
    auto cfg = embedded_config(cluster, dir / state);
    return cfg;
  }
  view_config view_settings() {
    view_config cfg;
    cfg.brokers = bootstrap;
    cfg.state_dir = dir / "views";
    return cfg;
  }
  void produce(const std::string& topic, const std::string& key, const std::string& value) {
    producer.produce(topic, -1, key, value, nullptr);
  }
  void flush() { CAF_REQUIRE(producer.flush(std::chrono::seconds{60})); }
};

/// The view holds exactly the topic's last value of each key.
bool equals_topic(const raw_view& v, const std::string& bootstrap, const std::string& topic) {
  auto expected = latest_by_key(read_topic(bootstrap, topic));
  std::map<std::string, std::string> seen;
  v.for_each([&](std::string_view k, std::string_view val) {
    seen[std::string{k}] = std::string{val};
    return true;
  });
  return seen == expected;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(tables_tests, fixture)

CAF_TEST(a view follows a table under load through a broker down and a leader move) {
  cluster.create_topic("profiles", 4, 3);
  for (int i = 0; i < 1000; ++i)
    produce("profiles", "k" + std::to_string(i % 300), "v" + std::to_string(i));
  flush();
  running<view<string_codec>> v{view_settings(), "profiles"};
  std::vector<view_state> states;
  std::mutex mtx;
  v->on_state_change([&](view_state s) {
    std::lock_guard guard{mtx};
    states.push_back(s);
  });
  CAF_REQUIRE(v->wait_recovered(std::chrono::seconds{60}));
  CAF_CHECK(equals_topic(v->raw(), bootstrap, "profiles"));
  CAF_CHECK_EQUAL(v->get("k7"), std::optional<std::string>{"v907"});
  CAF_CHECK(!v->has("nobody"));
  int seq = 1000;
  auto load = [&](std::chrono::milliseconds how_long) {
    for (auto end = std::chrono::steady_clock::now() + how_long;
         std::chrono::steady_clock::now() < end; ++seq) {
      produce("profiles", "k" + std::to_string(seq % 300), "v" + std::to_string(seq));
      if (seq % 100 == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  };
  load(std::chrono::seconds{2});
  cluster.broker_down(2); // a crash: the controller moves its leaders after 2 s
  load(std::chrono::seconds{10}); // the broker stays down while the table changes
  cluster.broker_up(2);
  cluster.move_leader("profiles", 1, 2);
  load(std::chrono::seconds{2});
  flush();
  CAF_CHECK(wait_until([&] { return equals_topic(v->raw(), bootstrap, "profiles"); },
                       std::chrono::seconds{60}, std::chrono::milliseconds{500}));
  auto stats = v->stats();
  CAF_MESSAGE(seq << " records written; the view applied " << stats.records << ", holds "
                  << stats.keys << " keys, lag " << stats.lag);
  CAF_CHECK_EQUAL(stats.keys, 300u);
  CAF_CHECK_EQUAL(stats.recovered, 4u);
  v.stop();
  std::lock_guard guard{mtx};
  CAF_CHECK(!states.empty() && states.back() == view_state::stopped);
}

CAF_TEST(a view started against an unreachable cluster reports it and recovers) {
  cluster.create_topic("profiles", 2, 3);
  for (int i = 0; i < 100; ++i)
    produce("profiles", "k" + std::to_string(i), "v" + std::to_string(i));
  flush();
  for (int b = 1; b <= 3; ++b)
    cluster.broker_down(b);
  running<raw_view> v{view_settings(), "profiles"};
  CAF_CHECK(!v->wait_recovered(std::chrono::seconds{3}));
  CAF_CHECK_EQUAL(to_string(v->state()), std::string{"connecting"});
  for (int b = 1; b <= 3; ++b)
    cluster.broker_up(b);
  CAF_REQUIRE(v->wait_recovered(std::chrono::seconds{60}));
  CAF_CHECK(equals_topic(*v, bootstrap, "profiles"));
  CAF_CHECK_EQUAL(v->get("k42"), std::optional<std::string>{"v42"});
}

CAF_TEST(a view of a missing topic is a clear error) {
  raw_view v{view_settings(), "no-such-topic"};
  CAF_CHECK_EQUAL(run_error(v), "view of no-such-topic: the topic does not exist; start the group "
                         "that writes it first, or create it (compacted)");
  CAF_CHECK_EQUAL(to_string(v.state()), std::string{"stopped"});
}

CAF_TEST(a join and a lookup give exact results through broker faults and members leaving) {
  cluster.create_topic("user-events", 4, 3);
  cluster.create_topic("orders", 4, 3);
  cluster.create_topic("prices", 3, 3); // not co-partitioned: a lookup
  for (int i = 0; i < users; ++i) {
    produce("user-events", "u" + std::to_string(i), "old-" + std::to_string(i));
    produce("user-events", "u" + std::to_string(i), "name-" + std::to_string(i));
  }
  for (int j = 0; j < items; ++j)
    produce("prices", "item" + std::to_string(j), std::to_string(j + 1));
  flush();
  running<processor> writer{config("users"), users_graph()};
  CAF_REQUIRE(wait_until([&] { return writer->stats().records == 2 * users; }));
  // The joined table's partitions are followed beside the inputs' on each member.
  constexpr int orders_total = 12000;
  std::map<std::string, std::pair<int64_t, int64_t>> expected; // user -> total, count
  int sent = 0;
  auto send = [&](int n) {
    for (int k = 0; k < n; ++k, ++sent) {
      auto user = "u" + std::to_string(sent % users);
      auto j = (sent * 7) % items;
      produce("orders", user, "item" + std::to_string(j));
      expected[user].first += j + 1;
      expected[user].second += 1;
    }
  };
  auto a = std::make_unique<running<processor>>(config("a"), orders_graph());
  auto b = std::make_unique<running<processor>>(config("b"), orders_graph());
  send(3000);
  flush();
  cluster.broker_down(3);
  for (int p = 0; p < 3; ++p)
    cluster.move_leader("prices", p, p % 2 + 1);
  send(3000);
  flush();
  b.reset(); // a member leaves mid-stream: its partitions and their join partitions move
  send(3000);
  cluster.broker_up(3);
  for (int p = 0; p < 4; ++p)
    cluster.move_leader("users-table", p, 3);
  b = std::make_unique<running<processor>>(config("b"), orders_graph());
  send(orders_total - sent);
  flush();
  auto table_is_exact = [&] {
    auto table = latest_by_key(read_topic(bootstrap, "orders-table"));
    if (table.size() != expected.size())
      return false;
    for (const auto& [user, want] : expected) {
      auto v = json::parse(table[user]);
      auto name = "name-" + user.substr(1);
      if (v["name"] != name || v["total"] != want.first || v["count"] != want.second)
        return false;
    }
    return true;
  };
  CAF_CHECK(wait_until(table_is_exact, std::chrono::seconds{90}, std::chrono::milliseconds{500}));
  CAF_MESSAGE(orders_total << " orders sent; the members now running processed "
                            << (*a)->stats().records + (*b)->stats().records);
}

CAF_TEST(a view serves every other key when one value cannot be decoded) {
  cluster.create_topic("prices", 2, 3);
  for (const auto& [k, v] : std::map<std::string, std::string>{
         {"apple", "3"}, {"banana", "4"}, {"cherry", "5"}, {"pen", "twelve"}})
    produce("prices", k, v);
  flush();
  running<view<int64_codec>> v{view_settings(), "prices"};
  CAF_REQUIRE(v->wait_recovered(std::chrono::seconds{60}));
  CAF_CHECK_EQUAL(v->get("apple"), std::optional<int64_t>{3});
  std::string error;
  try {
    v->get("pen");
  } catch (const decode_error& e) {
    error = e.what();
  }
  CAF_CHECK_EQUAL(error, "view of prices, key 'pen': int64 codec: not a decimal 64-bit "
                         "integer: 'twelve'");
  CAF_CHECK(v->has("pen"));
  CAF_CHECK_EQUAL(v->get("cherry"), std::optional<int64_t>{5});
  // A key range, [from, to), over both partitions.
  std::map<std::string, int64_t> fruit;
  v->range("apple", "c", [&](std::string_view k, const int64_t& n) {
    fruit[std::string{k}] = n;
    return true;
  });
  CAF_CHECK_EQUAL(fruit, (std::map<std::string, int64_t>{{"apple", 3}, {"banana", 4}}));
  // It keeps following the topic: a good value replaces the bad one.
  produce("prices", "pen", "12");
  flush();
  CAF_CHECK(wait_until([&] { return v->raw().get("pen") == std::optional<std::string>{"12"}; }));
  CAF_CHECK_EQUAL(v->get("pen"), std::optional<int64_t>{12});
  CAF_CHECK_EQUAL(to_string(v->state()), std::string{"running"});
}

CAF_TEST(a looked-up value that cannot be decoded dead-letters the orders that read it) {
  cluster.create_topic("user-events", 4, 3);
  cluster.create_topic("orders", 4, 3);
  cluster.create_topic("prices", 3, 3);
  produce("user-events", "u1", "name-1");
  produce("prices", "book", "12");
  produce("prices", "pen", "twelve");
  flush();
  running<processor> writer{config("users"), users_graph()};
  CAF_REQUIRE(wait_until([&] { return writer->stats().records == 1; }));
  auto cfg = config("orders");
  cfg.restart.min_backoff = std::chrono::milliseconds{50};
  running<processor> orders{cfg, orders_graph()};
  for (int i = 0; i < 10; ++i)
    produce("orders", "u1", i == 4 ? "pen" : "book");
  flush();
  auto want = json{{"name", "name-1"}, {"total", 9 * 12}, {"count", 9}};
  CAF_CHECK(wait_until([&] {
    auto table = latest_by_key(read_topic(bootstrap, "orders-table"));
    return table.contains("u1") && json::parse(table["u1"]) == want;
  }));
  std::vector<kafka_record> dead;
  CAF_CHECK(wait_until([&] { return !(dead = read_topic(bootstrap, "orders-dlq")).empty(); }));
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(dead.front().value, "pen");
  CAF_CHECK(dead.front().headers["partita.error"].find(
              "lookup table prices, key 'pen': int64 codec: not a decimal 64-bit integer") !=
            std::string::npos);
}

CAF_TEST(a join or lookup of a missing or not co-partitioned topic is a clear error) {
  cluster.create_topic("orders", 4, 3);
  cluster.create_topic("users-table", 3, 3);
  auto error_of = [&](graph_definition g) {
    processor p{config("x"), std::move(g)};
    return run_error(p);
  };
  group_graph<> missing{"orders"};
  missing.lookup("prices", int64_codec{}).input("orders", string_codec{}, [](auto&, auto&) {});
  CAF_CHECK_EQUAL(error_of(missing.definition()),
                  "lookup table 'prices' of group orders does not exist; start the group that "
                  "writes it first, or create the topic (compacted)");
  group_graph<> apart{"orders"};
  apart.join("users-table", string_codec{}).input("orders", string_codec{}, [](auto&, auto&) {});
  CAF_CHECK_EQUAL(error_of(apart.definition()),
                  "join table 'users-table' is not co-partitioned with the inputs of group "
                  "orders (partition counts: users-table=3 orders=4); read it with "
                  "graph.lookup, or repartition it");
}

CAF_TEST_FIXTURE_SCOPE_END()
