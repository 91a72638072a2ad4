#define CAF_SUITE actors.tester

#include "runtime/tester.hpp"
#include "test/support/errors.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>

using namespace partita;
using namespace std::chrono_literals;

namespace {

tester_config config(int64_t start_ms, int retries = 3,
                     poison_policy policy = poison_policy::dead_letter) {
  tester_config cfg;
  cfg.start_ms = start_ms;
  cfg.poison_retries = retries;
  cfg.on_poison = policy;
  return cfg;
}

consume_options with(std::vector<header> headers, int64_t timestamp = -1) {
  consume_options opts;
  opts.headers = std::move(headers);
  opts.timestamp = timestamp;
  return opts;
}

using partita::test::contains;
using partita::test::error_of;

/// Goka's click counter, with an emit of each new count and a loop that keeps a total.
group_graph<int64_codec> clicks_graph() {
  group_graph<int64_codec> g{"clicks"};
  g.output("counts", int64_codec{});
  g.input("clicks", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    auto n = ctx.value().value_or(0) + 1;
    ctx.set_value(n);
    ctx.emit("counts", ctx.key(), n);
    ctx.loopback("total", int64_t{1});
  });
  g.loop(int64_codec{}, [](context<int64_codec>& ctx, const int64_t& add) {
    ctx.set_value(ctx.value().value_or(0) + add);
  });
  return g;
}

} // namespace

CAF_TEST(consume runs the behaviors and their loopbacks at once) {
  tester tt{clicks_graph()};
  auto counts = tt.output("counts");
  auto changelog = tt.output("clicks-table");
  tt.consume("clicks", "alice", "/home");
  tt.consume("clicks", "alice", "/about");
  tt.consume("clicks", "bob", "/home");
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "alice"), std::optional<int64_t>{2});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "bob"), std::optional<int64_t>{1});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "total"), std::optional<int64_t>{3});
  CAF_CHECK(!tt.table_value<int64_t>("clicks-table", "carol"));
  CAF_REQUIRE_EQUAL(counts.size(), 3u);
  auto first = *counts.next();
  CAF_CHECK_EQUAL(first.key, "alice");
  CAF_CHECK_EQUAL(tt.value_of<int64_t>(first), 1);
  // The output names its input record, as on Kafka.
  CAF_CHECK_EQUAL(first.header_value("partita.source").value_or(""), "clicks/0/0");
  counts.next();
  CAF_CHECK_EQUAL(tt.value_of<int64_t>(*counts.next()), 1); // bob
  CAF_CHECK(!counts.next());
  // The changelog: each record's change of its key, then the loop's change of "total".
  CAF_CHECK_EQUAL(changelog.size(), 6u);
  changelog.seek_to_end();
  CAF_CHECK_EQUAL(changelog.size(), 0u);
}

CAF_TEST(records carry their headers and timestamps on a virtual clock) {
  group_graph<json_codec> g{"seen"};
  g.input("events", string_codec{}, [](context<json_codec>& ctx, const std::string&) {
    auto h = ctx.headers();
    ctx.set_value({{"ts", ctx.timestamp()}, {"headers", h.size()},
                   {"first", h.empty() ? "" : h[0].name + "=" + h[0].value}});
  });
  tester tt{g, config(1000)};
  tt.consume("events", "a", "x");
  tt.advance(1500ms);
  tt.consume("events", "b", "x", with({{"trace", "42"}}));
  tt.consume("events", "c", "x", with({}, 7));
  CAF_CHECK_EQUAL(tt.now(), 2500ms);
  auto a = *tt.table_value<nlohmann::json>("seen-table", "a");
  auto b = *tt.table_value<nlohmann::json>("seen-table", "b");
  CAF_CHECK_EQUAL(a["ts"], 1000);
  CAF_CHECK_EQUAL(b["ts"], 2500);
  CAF_CHECK_EQUAL(b["first"], "trace=42");
  auto c = *tt.table_value<nlohmann::json>("seen-table", "c");
  CAF_CHECK_EQUAL(c["ts"], 7);
}

CAF_TEST(joined and looked-up tables are set by the test or written by another tested graph) {
  // "users" keeps each user's country; "orders" joins it and looks up the country's rate.
  group_graph<string_codec> users{"users"};
  users.input("signups", string_codec{},
              [](context<string_codec>& ctx, const std::string& country) {
                ctx.set_value(country);
              });
  group_graph<int64_codec> orders{"orders"};
  orders.join("users-table", string_codec{});
  orders.lookup("rates", int64_codec{});
  orders.input("orders", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& amount) {
    auto country = ctx.join<std::string>("users-table");
    auto rate = ctx.lookup<int64_t>("rates", country.value_or("unknown")).value_or(0);
    ctx.set_value(ctx.value().value_or(0) + amount * rate);
  });
  tester tt;
  tt.add(users).add(orders);
  tt.set_table_value("rates", "fr", 2);
  tt.set_table_value("rates", "de", 3);
  tt.consume("signups", "alice", "fr");
  tt.consume("orders", "alice", 10);
  tt.set_table_value("users-table", "alice", "de"); // as if the users group wrote it
  tt.consume("orders", "alice", 1);
  tt.consume("orders", "bob", 5); // no user, no rate
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("orders-table", "alice"), std::optional<int64_t>{23});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("orders-table", "bob"), std::optional<int64_t>{0});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("rates", "de"), std::optional<int64_t>{3});
  tt.set_table_bytes("rates", "de", std::nullopt);
  CAF_CHECK(!tt.table_value<int64_t>("rates", "de"));
}

CAF_TEST(a failing record shows the poison policy outcome) {
  int attempts = 0;
  group_graph<int64_codec> g{"strict"};
  g.input("numbers", int64_codec{}, [&](context<int64_codec>& ctx, const int64_t& n) {
    if (n < 0) {
      ++attempts;
      ctx.set_value(-1); // dropped with the failure
      throw std::runtime_error("negative amount");
    }
    ctx.set_value(ctx.value().value_or(0) + n);
  });
  {
    tester tt{g, config(0, 2)};
    auto dlq = tt.output("strict-dlq");
    tt.consume("numbers", "k", 5);
    tt.consume("numbers", "k", -1);
    tt.consume_bytes("numbers", "k", "not a number");
    tt.consume("numbers", "k", 2);
    CAF_CHECK_EQUAL(attempts, 3); // tried poison_retries + 1 times, as a partition would
    CAF_CHECK_EQUAL(tt.table_value<int64_t>("strict-table", "k"), std::optional<int64_t>{7});
    CAF_REQUIRE_EQUAL(dlq.size(), 2u);
    auto dead = *dlq.next();
    CAF_CHECK_EQUAL(dead.header_value("partita.error").value_or(""), "negative amount");
    CAF_CHECK_EQUAL(dead.header_value("partita.topic").value_or(""), "numbers");
    CAF_CHECK_EQUAL(dead.header_value("partita.offset").value_or(""), "1");
    CAF_CHECK_EQUAL(tt.value_of<int64_t>(dead), -1); // the record as it came
    auto undecodable = *dlq.next();
    CAF_CHECK(contains(undecodable.header_value("partita.error").value_or(""), "int64 codec"));
    CAF_CHECK_EQUAL(undecodable.value.value_or(""), "not a number");
  }
  for (auto policy : {poison_policy::stop_partition, poison_policy::retry}) {
    tester tt{g, config(0, 3, policy)};
    tt.consume("numbers", "k", 5);
    auto error = error_of([&] { tt.consume("numbers", "k", -3); });
    CAF_MESSAGE(error);
    CAF_CHECK(contains(error, "numbers/0@1 (key 'k') failed: negative amount"));
    CAF_CHECK(contains(error, policy == poison_policy::retry ? "restarts" : "stops"));
    CAF_CHECK_EQUAL(tt.table_value<int64_t>("strict-table", "k"), std::optional<int64_t>{5});
  }
}

CAF_TEST(a visitor runs with the context of every key and what it emits is delivered) {
  auto g = clicks_graph();
  g.visitor("scale", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& by) {
    if (ctx.key() == "bad")
      throw std::runtime_error("cannot scale");
    ctx.set_value(ctx.value().value_or(0) * by);
    ctx.emit("counts", ctx.key(), *ctx.value());
  });
  tester tt{g};
  for (const auto* key : {"a", "b", "b", "bad"})
    tt.consume("clicks", key, std::string{"/"});
  auto counts = tt.output("counts");
  auto dlq = tt.output("clicks-dlq");
  CAF_CHECK_EQUAL(tt.visit_all("scale", int64_t{10}), 4); // a, b, bad and "total"
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "a"), std::optional<int64_t>{10});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "b"), std::optional<int64_t>{20});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "bad"), std::optional<int64_t>{1});
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("clicks-table", "total"), std::optional<int64_t>{40});
  CAF_CHECK_EQUAL(counts.size(), 3u);
  CAF_REQUIRE_EQUAL(dlq.size(), 1u);
  auto dead = *dlq.next();
  CAF_CHECK_EQUAL(dead.key, "bad");
  CAF_CHECK_EQUAL(dead.topic, "clicks-dlq");
  CAF_CHECK_EQUAL(dead.header_value("partita.topic").value_or(""), "clicks-visits");
  CAF_CHECK(contains(error_of([&] { tt.visit_all("scal", int64_t{1}); }),
                     "no tested group has that visitor"));
  CAF_CHECK(contains(error_of([&] { tt.visit_all("scale", std::string{"x"}); }),
                     "does not fit the int64 codec"));
  CAF_CHECK(contains(error_of([&] { tt.visit_bytes("scale", "ten"); }), "int64 codec"));
}

CAF_TEST(bad use gets an error naming the problem) {
  tester tt{clicks_graph()};
  CAF_CHECK(contains(error_of([&] { tt.consume("click", "a", "x"); }),
                     "no tested graph consumes 'click'"));
  CAF_CHECK(contains(error_of([&] { tt.consume("clicks", "a", 3.5); }),
                     "consume from 'clicks': the value's type does not fit the string codec"));
  CAF_CHECK(contains(error_of([&] { tt.table_value<std::string>("clicks-table", "a"); }),
                     "T is not the value type of its int64 codec"));
  CAF_CHECK(contains(error_of([&] { tt.table_value<int64_t>("clicks-tabel", "a"); }),
                     "'clicks-tabel' is neither a tested group's table"));
  CAF_CHECK(contains(error_of([&] { tt.output("count"); }), "no tested graph produces"));
  CAF_CHECK(contains(error_of([&] { tt.add(clicks_graph()); }), "added twice"));
  group_graph<> empty{"empty"};
  CAF_CHECK(contains(error_of([&] { tt.add(empty); }), "has no input"));
}

CAF_TEST(the stores are LMDB under the state dir and a temporary one is removed) {
  auto dir = std::filesystem::temp_directory_path() / "partita-tester-test";
  std::filesystem::remove_all(dir);
  {
    tester_config cfg;
    cfg.state_dir = dir;
    tester tt{clicks_graph(), cfg};
    tt.consume("clicks", "alice", "/");
    CAF_CHECK(std::filesystem::exists(dir / "clicks"));
  }
  CAF_CHECK(std::filesystem::exists(dir / "clicks")); // the user's directory stays
  std::filesystem::remove_all(dir);
}
