#define CAF_SUITE apps.examples

// Goka's examples, ported (apps/examples/): each runs on the embedded cluster and prints or
// serves what the Goka example does.

#include "apps/examples/3-messaging/messaging.hpp"
#include "runtime/kafka_config.hpp"
#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <map>

#include <unistd.h>

using namespace partita::test;

namespace {

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-examples-test-" + std::to_string(::getpid()));
  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  /// `piped_stdin`: the test writes the example's stdin (child_process::write).
  child_process run(const std::string& example, std::vector<std::string> args,
                    bool piped_stdin = false) {
    args.insert(args.end(), {"--state-dir", (dir / example).string()});
    return child_process{std::string{PARTITA_EXAMPLES_DIR} + "/example-" + example,
                         std::move(args), (dir / example).string(), {}, piped_stdin};
  }

  /// How often `child` printed `part` so far.
  static std::size_t times(const child_process& child, std::string_view part) {
    auto out = child.out();
    std::size_t n = 0;
    for (auto at = out.find(part); at != std::string::npos; at = out.find(part, at + 1))
      ++n;
    return n;
  }

  /// Waits until `child` prints `line` (true), or exits first, or two minutes pass.
  static bool printed(child_process& child, const std::string& line) {
    return wait_until([&] { return has(child.out(), line) || !child.running(); },
                      std::chrono::seconds{120}) &&
           has(child.out(), line);
  }

  /// The value at /tables/<table>/<key> of an example's HTTP endpoint.
  static nlohmann::json query(int port, const std::string& table, const std::string& key) {
    httplib::Client http{"127.0.0.1", port};
    auto res = http.Get("/tables/" + table + "/" + key);
    if (!res || res->status != 200)
      return nullptr;
    return nlohmann::json::parse(res->body)["value"];
  }

  /// Visit `id` once it is done, as GET /visits/<id> shows it (or as last seen, after a minute).
  static nlohmann::json visit_done(httplib::Client& http, const std::string& id) {
    nlohmann::json visit;
    wait_until(
      [&] {
        auto res = http.Get("/visits/" + id);
        visit = res && res->status == 200 ? nlohmann::json::parse(res->body) : nlohmann::json{};
        return visit.value("state", "") == "done";
      },
      std::chrono::seconds{60});
    return visit;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(examples_tests, fixture)

CAF_TEST(1-simplest counts the messages of its key) {
  auto child = run("1-simplest", {"--records", "5"});
  CAF_REQUIRE_EQUAL(child.wait(120000), 0);
  CAF_CHECK(has(child.out(), "key = some-key, counter = 1, msg = some-message"));
  CAF_CHECK(has(child.out(), "key = some-key, counter = 5, msg = some-message"));
  CAF_CHECK(!has(child.out(), "counter = 6"));
  CAF_CHECK(has(child.out(), "done: some-key counted 5 of 5 messages"));
}

CAF_TEST(9-defer-commit commits each message once its forward landed) {
  auto child = run("9-defer-commit", {"--records", "200"});
  CAF_REQUIRE_EQUAL(child.wait(120000), 0);
  CAF_CHECK(has(child.out(), "done: forwarded 200 of 200 messages; 200 committed, 0 waiting; "
                             "key-3 counted 20"));
}

CAF_TEST(2-clicks serves the counts of its view over HTTP) {
  auto port = free_port();
  auto child = run("2-clicks", {"--records", "100", "--http", "127.0.0.1:" + std::to_string(port)});
  CAF_REQUIRE(printed(child, "done:"));
  CAF_CHECK(has(child.out(), "done: the view holds 100 of 100 clicks; user-3 clicked 10 times"));
  CAF_CHECK_EQUAL(query(port, "mini-group-table", "user-3"), (nlohmann::json{{"clicks", 10}}));
  CAF_CHECK_EQUAL(query(port, "mini-group-table", "user-10"), nullptr);
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(5-multiple counts two inputs in one table) {
  auto port = free_port();
  auto child = run("5-multiple", {"--records", "300", "--http", "127.0.0.1:" + std::to_string(port)});
  CAF_REQUIRE(printed(child, "done:"));
  CAF_CHECK(has(child.out(), "done: 600 of 600 clicks counted"));
  // user-0 is clicked on input-A at i = 0, 50, ..., 250 and on input-B at i = 0, 60, ..., 240.
  CAF_CHECK_EQUAL(query(port, "multiInput-table", "user-0"), (nlohmann::json{{"clicks", 11}}));
  // user-55 only on input-B: i = 55, 115, 175, 235, 295.
  CAF_CHECK_EQUAL(query(port, "multiInput-table", "user-55"), (nlohmann::json{{"clicks", 5}}));
  httplib::Client http{"127.0.0.1", port};
  auto status = http.Get("/status.json");
  CAF_REQUIRE(status);
  CAF_CHECK(has(status->body, "\"multiInput\""));
  CAF_CHECK(has(status->body, "multiInput-table"));
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(3-messaging sends translates and blocks through its service) {
  auto port = free_port();
  auto child = run("3-messaging", {"--api", "127.0.0.1:" + std::to_string(port)});
  CAF_REQUIRE(printed(child, "Messaging service"));
  httplib::Client api{"127.0.0.1", port};
  auto send = [&](const std::string& from, const std::string& content) {
    auto res = api.Post("/" + from + "/send",
                        nlohmann::json{{"to", "Alice"}, {"content", content}}.dump(),
                        "application/json");
    return res ? res->status : -1;
  };
  auto feed = [&] {
    auto res = api.Get("/Alice/feed");
    return res && res->status == 200 ? res->body : std::string{};
  };
  // A sender whose messages share Bob's partition of message_sent: the filter handles the
  // two in the order they were sent.
  std::string twin = "user-0";
  for (int i = 0; partita::key_partition(twin, 8) != partita::key_partition("Bob", 8); ++i)
    twin = "user-" + std::to_string(i);

  CAF_CHECK_EQUAL(api.Get("/Alice/feed")->status, 404);
  CAF_REQUIRE_EQUAL(send("Bob", "Hey, how are you?"), 200);
  CAF_REQUIRE(wait_until([&] { return has(feed(), "Bob: Hey, how are you?"); }));
  // Translations and blocks reach the filter's tables a moment after they are written: send
  // until a message shows them.
  CAF_REQUIRE_EQUAL(api.Post("/translate/together", "2gether", "text/plain")->status, 200);
  int n = 0;
  CAF_CHECK(wait_until([&] {
    auto content = "lunch together " + std::to_string(++n);
    send(twin, content);
    return wait_until([&] { return has(feed(), "lunch 2gether " + std::to_string(n)) ||
                                   has(feed(), content); }) &&
           has(feed(), "lunch 2gether " + std::to_string(n));
  }));
  // A blocked sender's message sent before the twin's never reaches the feed.
  auto filtered = [&](const std::string& from) {
    return wait_until([&] {
      auto spam = "spam " + std::to_string(++n);
      auto ping = "ping " + std::to_string(n);
      send(from, spam);
      send(twin, ping);
      return wait_until([&] { return has(feed(), ping); }) && !has(feed(), spam);
    });
  };
  CAF_REQUIRE_EQUAL(api.Post("/Bob/block", "", "text/plain")->status, 200);
  CAF_CHECK(filtered("Bob"));
  // The detector blocks, on its own, a user who only sends: after messaging::min_messages.
  std::string spammer = "spammer-0";
  for (int i = 0; partita::key_partition(spammer, 8) != partita::key_partition("Bob", 8); ++i)
    spammer = "spammer-" + std::to_string(i);
  for (int64_t i = 0; i < messaging::min_messages; ++i)
    CAF_REQUIRE_EQUAL(send(spammer, "offer " + std::to_string(i)), 200);
  CAF_CHECK(filtered(spammer));
  auto bad = api.Post("/Bob/send", "not json", "application/json");
  CAF_CHECK_EQUAL(bad->status, 400);
  CAF_CHECK(has(bad->body, "the body is not a message"));
  CAF_CHECK_EQUAL(api.Post("/Bob/send", "{}", "application/json")->status, 400);
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(6-reconnecting-view rides out an outage of every broker) {
  auto child = run("6-reconnecting-view", {"--records", "200"});
  CAF_REQUIRE_EQUAL(child.wait(180000), 0);
  CAF_CHECK(has(child.out(), "view: connecting"));
  CAF_CHECK(has(child.out(), "done: the view noticed the outage and holds 400 of 400 clicks"));
}

CAF_TEST(6-reconnecting-view follows the commands of its control pipe) {
  auto child = run("6-reconnecting-view", {}, /*piped_stdin=*/true);
  CAF_REQUIRE(printed(child, "view: running"));
  CAF_REQUIRE(child.write("down 1\ndown 2\ndown 3\n"));
  CAF_CHECK(printed(child, "view: connecting"));
  auto running_before = times(child, "view: running");
  CAF_REQUIRE(child.write("up 1\nup 2\nup 3\n"));
  CAF_CHECK(wait_until([&] { return times(child, "view: running") > running_before; },
                       std::chrono::seconds{120}));
  CAF_CHECK_EQUAL(times(child, "ok: "), 6u);
  CAF_CHECK(child.write("frobnicate\n"));
  CAF_CHECK(printed(child, "error: "));
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(10-visit resets every count with a visitor and over HTTP) {
  auto port = free_port();
  auto child = run("10-visit", {"--records", "50", "--http", "127.0.0.1:" + std::to_string(port)});
  CAF_REQUIRE(printed(child, "done:"));
  CAF_CHECK(has(child.out(), "counted 50 clicks; user-3 clicked 5 times"));
  CAF_CHECK(has(child.out(), "done: the visit reset 10 keys in 8 partitions; the counts now add "
                             "up to 0"));
  CAF_CHECK_EQUAL(query(port, "example-visit-table", "user-3"), nlohmann::json(0));
  httplib::Client http{"127.0.0.1", port};
  auto started = http.Post("/visits/reset", "7", "application/octet-stream");
  CAF_REQUIRE(started);
  CAF_REQUIRE_EQUAL(started->status, 202);
  auto id = nlohmann::json::parse(started->body)["id"].get<std::string>();
  auto status = visit_done(http, id);
  CAF_MESSAGE(status.dump());
  CAF_CHECK_EQUAL(status.value("state", ""), "done");
  CAF_CHECK_EQUAL(status.value("visited", -1), 10);
  CAF_CHECK_EQUAL(status.value("partitions_done", -1), 8);
  CAF_CHECK_EQUAL(query(port, "example-visit-table", "user-3"), nlohmann::json(7));
  auto unknown = http.Post("/visits/nobody", "7", "application/octet-stream");
  CAF_REQUIRE(unknown);
  CAF_CHECK_EQUAL(unknown->status, 404);
  CAF_CHECK(has(unknown->body, "no visitor 'nobody'"));
  auto bad = http.Post("/visits/reset", "seven", "application/octet-stream");
  CAF_REQUIRE(bad);
  CAF_CHECK_EQUAL(bad->status, 400);
  CAF_CHECK(has(bad->body, "not a value of visitor 'reset'"));
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(8-monitoring shows two processors and a view on one endpoint) {
  auto port = free_port();
  auto child =
    run("8-monitoring", {"--records", "300", "--http", "127.0.0.1:" + std::to_string(port)});
  CAF_REQUIRE(printed(child, "done:"));
  CAF_CHECK(has(child.out(), "done: mini-group counted 300 of 300 clicks, mini-group-stateless "
                             "saw 300"));
  CAF_CHECK_EQUAL(query(port, "mini-group-table", "user-3"), (nlohmann::json{{"clicks", 30}}));
  httplib::Client http{"127.0.0.1", port};
  CAF_CHECK(wait_until([&] {
    auto res = http.Get("/readyz");
    return res && res->status == 200;
  }));
  auto ready = nlohmann::json::parse(http.Get("/readyz")->body);
  CAF_CHECK_EQUAL(ready["processors"].size(), 2u);
  CAF_CHECK_EQUAL(ready["partitions"].get<int>(), 16);
  // The status page's figures: both groups' partitions and records, the view's partitions.
  // (A record is counted once its batch is committed, a moment after its behavior ran.)
  auto get = [&](const std::string& path) {
    auto res = http.Get(path);
    return res && res->status == 200 ? res->body : std::string{};
  };
  CAF_CHECK(wait_until([&] {
    auto m = get("/metrics");
    return has(m, "partita_records_processed_total{group=\"mini-group\",topic=\"user-click\"} "
                  "300\n") &&
           has(m, "partita_records_processed_total{group=\"mini-group-stateless\",topic=\""
                  "user-click\"} 300\n");
  }));
  auto status = nlohmann::json::parse(get("/status.json"));
  CAF_CHECK_EQUAL(status["group"].get<std::string>(), "mini-group, mini-group-stateless");
  std::map<std::string, int> partitions, processed, followed;
  for (const auto& p : status["partition_list"])
    ++partitions[p["group"].get<std::string>()];
  for (const auto& t : status["topics"])
    processed[t["group"].get<std::string>() + " " + t["topic"].get<std::string>()] =
      t["processed"].get<int>();
  for (const auto& t : status["tables"])
    ++followed[t["group"].get<std::string>() + t["table"].get<std::string>()];
  using counts = std::map<std::string, int>;
  CAF_CHECK_EQUAL(partitions, (counts{{"mini-group", 8}, {"mini-group-stateless", 8}}));
  CAF_CHECK_EQUAL(processed["mini-group user-click"], 300);
  CAF_CHECK_EQUAL(processed["mini-group-stateless user-click"], 300);
  CAF_CHECK_EQUAL(followed, (counts{{"mini-group-table", 8}})); // the view's: no group
  auto metrics = get("/metrics");
  CAF_CHECK_EQUAL(metrics.find("# TYPE partita_up gauge"),
                  metrics.rfind("# TYPE partita_up gauge"));
  // The group without a table has none to query.
  auto none = http.Get("/tables/mini-group-stateless-table/user-3");
  CAF_REQUIRE(none);
  CAF_CHECK_EQUAL(none->status, 404);
  CAF_CHECK(has(none->body, "no table 'mini-group-stateless-table'; this service has "
                            "'mini-group-table'"));
  // The action: the visitor resets every user's count.
  auto started = http.Post("/visits/reset", R"({"clicks": 0})", "application/json");
  CAF_REQUIRE(started);
  CAF_REQUIRE_EQUAL(started->status, 202);
  auto id = nlohmann::json::parse(started->body)["id"].get<std::string>();
  auto visit = visit_done(http, id);
  CAF_CHECK_EQUAL(visit.value("state", ""), "done");
  CAF_CHECK_EQUAL(visit.value("visited", -1), 10);
  CAF_CHECK_EQUAL(visit.value("group", ""), "mini-group");
  CAF_CHECK(wait_until(
    [&] { return query(port, "mini-group-table", "user-3") == nlohmann::json{{"clicks", 0}}; }));
  child.signal(SIGTERM);
  CAF_CHECK_EQUAL(child.wait(60000), 0);
}

CAF_TEST(an example given a bad setting exits with code 2) {
  auto child = run("1-simplest", {"--records", "-4"});
  CAF_CHECK_EQUAL(child.wait(10000), 2);
  CAF_CHECK(has(child.err(), "--records"));
  auto messaging = run("3-messaging", {"--processors", "collector,mailer"});
  CAF_CHECK_EQUAL(messaging.wait(10000), 2);
  CAF_CHECK(has(messaging.err(), "mailer"));
  auto api = run("3-messaging", {"--api", "localhost:http"});
  CAF_CHECK_EQUAL(api.wait(10000), 2);
  CAF_CHECK(has(api.err(), "HOST:PORT"));
}

CAF_TEST(an example that cannot start says why and exits with code 1) {
  // The filter joins the blocker's table, which nobody here creates.
  auto filter = run("3-messaging", {"--processors", "filter"});
  CAF_CHECK_EQUAL(filter.wait(120000), 1);
  CAF_CHECK(has(filter.err(), "join table 'blocker-table' of group filter does not exist"));
}

CAF_TEST_FIXTURE_SCOPE_END()
