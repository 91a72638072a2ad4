#define CAF_SUITE apps.http_endpoint

#include "apps/http_endpoint.hpp"

#include "apps/clickcount_graph.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/served_counter.hpp"

#include <caf/test/unit_test.hpp>

#include <httplib.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

struct fixture : served_counter {
  /// The status page served on `port` as a real browser renders it (its script run).
  std::string render(int port) {
    if (!std::filesystem::exists("/usr/bin/chromium"))
      CAF_FAIL("/usr/bin/chromium is missing: run `make deps` (cmake/debian-packages.txt lists "
               "it)");
    auto profile = dir / "chromium-profile";
    child_process browser{"/usr/bin/chromium",
                          {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync",
                           "--user-data-dir=" + profile.string(), "--virtual-time-budget=5000",
                           "--dump-dom", "http://127.0.0.1:" + std::to_string(port) + "/"},
                          (dir / "chromium").string()};
    CAF_REQUIRE_EQUAL(browser.wait(60000), 0);
    return browser.out();
  }

};

} // namespace

/// Each family of a Prometheus text has one TYPE line, and each series (name and labels) one
/// sample.
static void check_each_once(const std::string& metrics) {
  std::map<std::string, int> seen;
  std::istringstream lines{metrics};
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("# TYPE "))
      ++seen["TYPE " + line.substr(7, line.find(' ', 7) - 7)];
    else if (!line.starts_with("#"))
      ++seen[line.substr(0, line.rfind(' '))];
  for (const auto& [what, n] : seen)
    CAF_CHECK_EQUAL(what + " " + std::to_string(n), what + " 1");
}

CAF_TEST_FIXTURE_SCOPE(http_tests, fixture)

CAF_TEST(health and readiness follow the processor) {
  CAF_CHECK_EQUAL(get("/healthz")->status, 503);
  auto not_ready = get("/readyz");
  CAF_CHECK_EQUAL(not_ready->status, 503);
  CAF_CHECK_EQUAL(nlohmann::json::parse(not_ready->body)["reason"].get<std::string>(),
                  "the processor is not running");
  start();
  CAF_REQUIRE(wait_until([&] { return get("/readyz")->status == 200; }));
  CAF_CHECK_EQUAL(get("/healthz")->status, 200);
  auto ready = nlohmann::json::parse(get("/readyz")->body);
  CAF_CHECK_EQUAL(ready["partitions"].get<int>(), 4);
  CAF_CHECK_EQUAL(ready["ready_partitions"].get<int>(), 4);
}

CAF_TEST(tables and metrics show what was processed) {
  start();
  produce(bootstrap, "clicks", {{"alice", "x"}, {"alice", "x"}, {"bob", "x"}});
  CAF_REQUIRE(wait_until([&] { return proc->stats().records == 3; }));
  auto alice = get("/tables/counts-table/alice");
  CAF_REQUIRE_EQUAL(alice->status, 200);
  auto body = nlohmann::json::parse(alice->body);
  CAF_CHECK_EQUAL(body["value"].get<int64_t>(), 2);
  CAF_CHECK_EQUAL(body["key"].get<std::string>(), "alice");
}

CAF_TEST(metrics are in Prometheus text format and count what was processed) {
  start();
  produce(bootstrap, "clicks", {{"alice", "x"}, {"alice", "x"}, {"bob", "x"}});
  CAF_REQUIRE(wait_until([&] { return proc->stats().records == 3; }));
  // The changelog's acknowledgement comes after the record is counted: wait for the commit.
  CAF_REQUIRE(wait_until([&] {
    return get("/metrics")->body.find("partita_commit_latency_seconds_count 0\n") ==
           std::string::npos;
  }));
  auto res = get("/metrics");
  CAF_CHECK_EQUAL(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  // Every line is a comment (# HELP / # TYPE) or `name{labels} value`; every sample has a TYPE.
  std::map<std::string, std::string> types;
  std::map<std::string, double> values;
  std::istringstream lines{res->body};
  std::string line;
  std::regex help{R"(# HELP [a-z_]+ .+)"};
  std::regex type{R"(# TYPE ([a-z_]+) (counter|gauge|summary))"};
  std::regex sample{R"(([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+))"};
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, type)) {
      types[m[1]] = m[2];
    } else if (std::regex_match(line, m, sample)) {
      auto name = m[1].str();
      auto family = name;
      for (const char* suffix : {"_sum", "_count"})
        if (!types.contains(family) && family.ends_with(suffix))
          family = family.substr(0, family.size() - std::string_view{suffix}.size());
      if (!types.contains(family))
        CAF_FAIL("sample without a TYPE: " << line);
      values[name + m[2].str()] = std::stod(m[4]);
    } else if (!std::regex_match(line, help)) {
      CAF_FAIL("not Prometheus text format: " << line);
    }
  }
  for (const auto& [name, t] : types) {
    if (t == "counter")
      CAF_CHECK(name.ends_with("_total"));
  }
  CAF_CHECK_EQUAL(values["partita_records_processed_total{topic=\"clicks\"}"], 3);
  CAF_CHECK_EQUAL(values["partita_records_consumed_total{topic=\"clicks\"}"], 3);
  CAF_CHECK_EQUAL(values["partita_partitions_assigned"], 4);
  CAF_CHECK_EQUAL(values["partita_up"], 1);
  CAF_CHECK_EQUAL(values["partita_broker_up{broker=\"1\"}"], 1);
  int running = 0;
  for (int p = 0; p < 4; ++p)
    running += static_cast<int>(
      values["partita_partition_state{partition=\"" + std::to_string(p) + "\",state=\"running\"}"]);
  CAF_CHECK_EQUAL(running, 4);
  // alice's and bob's partitions committed past their records: 3 records in all.
  double committed = 0;
  for (const auto& [name, v] : values)
    if (name.starts_with("partita_committed_offset{"))
      committed += v;
  CAF_CHECK_EQUAL(committed, 3);
  CAF_CHECK(values["partita_commit_latency_seconds_count"] >= 1);
}

CAF_TEST(the status page renders the partitions of the running processor) {
  start();
  produce(bootstrap, "clicks", {{"alice", "x"}});
  CAF_REQUIRE(wait_until([&] { return get("/readyz")->status == 200; }));
  auto json = nlohmann::json::parse(get("/status.json")->body);
  CAF_CHECK_EQUAL(json["group"].get<std::string>(), "counts");
  CAF_REQUIRE_EQUAL(json["partition_list"].size(), 4u);
  CAF_CHECK_EQUAL(json["partition_list"][0]["state"].get<std::string>(), "running");
  CAF_CHECK_EQUAL(json["brokers"].size(), 1u);
  // The page itself, rendered by a real browser: its script fills in one row per partition.
  auto dom = render(endpoint->port());
  for (int p = 0; p < 4; ++p)
    CAF_CHECK(dom.find("<tr data-group=\"counts\" data-partition=\"" + std::to_string(p) +
                       "\" data-state=\"running\">") != std::string::npos);
  CAF_CHECK(dom.find("<tr data-broker=\"1\">") != std::string::npos);
  CAF_CHECK(dom.find("4 of 4 partitions ready") != std::string::npos);
}

CAF_TEST(the status page charts records lag and brokers over the last minutes) {
  start();
  std::vector<std::pair<std::string, std::string>> clicks;
  for (int i = 0; i < 200; ++i)
    clicks.emplace_back("user-" + std::to_string(i % 9), "x");
  produce(bootstrap, "clicks", clicks);
  auto history = [&] { return nlohmann::json::parse(get("/status.json")->body)["history"]; };
  CAF_REQUIRE(wait_until([&] { return proc->stats().records == 200; }));
  // A sample knows a broker once the broker monitor has reported it (the first may not).
  auto knows_broker_1 = [](const nlohmann::json& sample) {
    return sample["brokers"].contains("1");
  };
  // And the charts have two points of everything they draw: the lag of every partition and
  // the broker up, in the last two samples.
  auto complete = [&](const nlohmann::json& sample) {
    return knows_broker_1(sample) && sample["brokers"]["1"].get<bool>() &&
           sample["lag"].size() == 4;
  };
  CAF_REQUIRE(wait_until([&] {
    auto s = history()["samples"];
    return s.size() >= 3 && complete(s.back()) && complete(s[s.size() - 2]);
  }));
  auto samples = history()["samples"];
  CAF_CHECK_EQUAL(history()["interval_seconds"].get<double>(), 2.0);
  CAF_CHECK_EQUAL(samples.back()["lag"].size(), 4u);
  CAF_CHECK_EQUAL(samples.back()["brokers"]["1"].get<bool>(), true);
  // The broker goes down: the chart shows it red from the sample that saw it.
  cluster.broker_down(1);
  CAF_REQUIRE(wait_until([&] {
    auto s = history()["samples"];
    return s.size() >= 2 && knows_broker_1(s[s.size() - 2]) &&
           !s[s.size() - 2]["brokers"]["1"].get<bool>();
  }));
  auto dom = render(endpoint->port());
  cluster.broker_up(1);
  CAF_CHECK(dom.find("<polyline data-series=\"records\"") != std::string::npos);
  for (int p = 0; p < 4; ++p)
    CAF_CHECK(dom.find("<polyline data-series=\"lag-" + std::to_string(p) + "\"") !=
              std::string::npos);
  CAF_CHECK(dom.find("<rect data-broker=\"1\" data-up=\"true\"") != std::string::npos);
  CAF_CHECK(dom.find("<rect data-broker=\"1\" data-up=\"false\"") != std::string::npos);
  CAF_CHECK(dom.find(">collecting figures") == std::string::npos); // every chart drawn
}

CAF_TEST(bad requests get clear errors) {
  start();
  CAF_REQUIRE(wait_until([&] { return get("/readyz")->status == 200; }));
  auto unknown_key = get("/tables/counts-table/nobody");
  CAF_CHECK_EQUAL(unknown_key->status, 404);
  CAF_CHECK(nlohmann::json::parse(unknown_key->body)["error"].get<std::string>().find(
              "key 'nobody' not found") == 0);
  auto unknown_table = get("/tables/other/alice");
  CAF_CHECK_EQUAL(unknown_table->status, 404);
  CAF_CHECK_EQUAL(nlohmann::json::parse(unknown_table->body)["error"].get<std::string>(),
                  "no table 'other'; this service has 'counts-table'");
  CAF_CHECK_EQUAL(get("/nothing")->status, 404);
  for (const char* path : {"/tables", "/tables/counts-table", "/tables/counts-table/"}) {
    auto no_key = get(path);
    CAF_CHECK_EQUAL(no_key->status, 400);
    CAF_CHECK(nlohmann::json::parse(no_key->body)["error"].get<std::string>().find(
                "write /tables/counts-table/<key>") != std::string::npos);
  }
  httplib::Client client{"127.0.0.1", endpoint->port()};
  auto post = client.Post("/healthz", "x", "text/plain");
  CAF_CHECK_EQUAL(post->status, 405);
  auto long_key = get("/tables/counts-table/" + std::string(20000, 'k'));
  CAF_REQUIRE(long_key);
  CAF_CHECK_EQUAL(long_key->status, 414);
  CAF_CHECK(nlohmann::json::parse(long_key->body)["error"].get<std::string>().find(
              "longer than the server reads") != std::string::npos);
}

CAF_TEST(views are served beside the group table) {
  cluster.create_topic("profiles", 2, 1);
  CAF_REQUIRE_EQUAL(produce(bootstrap, "profiles", {{"ann", "7"}, {"bob", "8"}, {"ann", "9"}}),
                    3u);
  view_config vc;
  vc.brokers = bootstrap;
  vc.state_dir = dir / "views";
  raw_view profiles{vc, "profiles"};
  std::thread follower{[&] { profiles.run(); }};
  CAF_REQUIRE(profiles.wait_recovered(std::chrono::seconds{30}));
  http_endpoint served{*proc, http_endpoint_config{"127.0.0.1:0", {}, {&profiles}, {}}};
  httplib::Client client{"127.0.0.1", served.port()};
  auto value = client.Get("/tables/profiles/ann");
  CAF_CHECK_EQUAL(value->status, 200);
  CAF_CHECK_EQUAL(nlohmann::json::parse(value->body)["value"].get<std::string>(), "9");
  CAF_CHECK_EQUAL(client.Get("/tables/profiles/nobody")->status, 404);
  CAF_CHECK_EQUAL(nlohmann::json::parse(client.Get("/tables/other/x")->body)["error"]
                    .get<std::string>(),
                  "no table 'other'; this service has 'counts-table', 'profiles'");
  auto metrics = client.Get("/metrics")->body;
  check_each_once(metrics); // the view's broker monitor beside the processor's
  CAF_CHECK(metrics.find("partita_table_position{partition=\"0\",table=\"profiles\"}") !=
            std::string::npos);
  CAF_CHECK(metrics.find("partita_view_state{table=\"profiles\",state=\"running\"} 1") !=
            std::string::npos);
  auto tables = nlohmann::json::parse(client.Get("/status.json")->body)["tables"];
  CAF_CHECK_EQUAL(tables.size(), 2u);
  CAF_CHECK_EQUAL(tables[0]["state"].get<std::string>(), "running");
  auto dom = render(served.port());
  CAF_CHECK(dom.find("<tr data-table=\"profiles\" data-state=\"running\">") !=
            std::string::npos);
  profiles.stop();
  follower.join();
}

CAF_TEST(one endpoint serves several processors) {
  // Two click counters of the same clicks, each declaring visitor "reset".
  struct counter {
    processor proc;
    std::thread runner;
    counter(processor_config cfg, const std::string& group)
      : proc(std::move(cfg), apps::clickcount_graph(group, "clicks").visitor(
                               "reset", int64_codec{},
                               [](context<int64_codec>& ctx, const int64_t& to) {
                                 ctx.set_value(to);
                               })),
        runner([this] { proc.run(); }) {}
    ~counter() {
      proc.stop();
      if (runner.joinable())
        runner.join();
    }
  };
  processor_config cfg;
  cfg.brokers = bootstrap;
  cfg.state_dir = dir;
  cfg.cluster = &cluster;
  counter pages{cfg, "pages"}, users{cfg, "users"};
  http_endpoint_config served{"127.0.0.1:0", {}, {}, {{&users.proc}}};
  http_endpoint both{pages.proc, served};
  httplib::Client client{"127.0.0.1", both.port()};
  CAF_REQUIRE(wait_until([&] {
    auto res = client.Get("/readyz");
    return res && res->status == 200;
  }));
  produce(bootstrap, "clicks", {{"alice", "x"}, {"alice", "x"}, {"bob", "x"}});
  CAF_REQUIRE(wait_until([&] {
    return client.Get("/metrics")->body.find(
             "partita_records_processed_total{group=\"users\",topic=\"clicks\"} 3\n") !=
             std::string::npos &&
           client.Get("/metrics")->body.find(
             "partita_records_processed_total{group=\"pages\",topic=\"clicks\"} 3\n") !=
             std::string::npos;
  }));
  auto value = [&](const std::string& table, const std::string& key) {
    auto res = client.Get("/tables/" + table + "/" + key);
    return res && res->status == 200 ? nlohmann::json::parse(res->body)["value"].get<std::string>()
                                     : std::string{"none"};
  };
  CAF_CHECK_EQUAL(value("pages-table", "alice"), "2");
  CAF_CHECK_EQUAL(value("users-table", "bob"), "1");

  // /metrics: every family and every series once, every processor's figures with its group.
  auto metrics = client.Get("/metrics")->body;
  check_each_once(metrics);
  for (const char* group : {"pages", "users"}) {
    auto g = std::string{group};
    CAF_CHECK(metrics.find("partita_up{group=\"" + g + "\"} 1\n") != std::string::npos);
    CAF_CHECK(metrics.find("partita_records_processed_total{group=\"" + g +
                           "\",topic=\"clicks\"} 3\n") != std::string::npos);
  }

  auto status = nlohmann::json::parse(client.Get("/status.json")->body);
  CAF_CHECK_EQUAL(status["group"].get<std::string>(), "pages, users");
  CAF_REQUIRE_EQUAL(status["processors"].size(), 2u);
  CAF_CHECK_EQUAL(status["records"].get<int>(), 6);
  std::map<std::string, int> partitions;
  for (const auto& p : status["partition_list"])
    ++partitions[p["group"].get<std::string>()];
  CAF_CHECK_EQUAL(partitions, (std::map<std::string, int>{{"pages", 4}, {"users", 4}}));
  auto dom = render(both.port());
  for (const char* group : {"pages", "users"})
    CAF_CHECK(dom.find("<tr data-group=\"" + std::string{group} +
                       "\" data-partition=\"0\" data-state=\"running\">") != std::string::npos);
  CAF_CHECK(dom.find("pages: 4 of 4 partitions ready") != std::string::npos);

  // A visitor both declare is started for the group named.
  auto ambiguous = client.Post("/visits/reset", "0", "application/octet-stream");
  CAF_CHECK_EQUAL(ambiguous->status, 400);
  CAF_CHECK(ambiguous->body.find("?group=") != std::string::npos);
  CAF_CHECK_EQUAL(client.Post("/visits/reset?group=nobody", "0", "text/plain")->status, 404);
  auto started = client.Post("/visits/reset?group=users", "0", "application/octet-stream");
  CAF_REQUIRE_EQUAL(started->status, 202);
  auto id = nlohmann::json::parse(started->body)["id"].get<std::string>();
  CAF_CHECK(wait_until([&] {
    auto v = nlohmann::json::parse(client.Get("/visits/" + id)->body);
    return v["state"] == "done" && v["visited"] == 2 && v["group"] == "users";
  }));
  CAF_CHECK_EQUAL(value("users-table", "alice"), "0");
  CAF_CHECK_EQUAL(value("pages-table", "alice"), "2");

  // One processor down: the endpoint is neither healthy nor ready, and says which.
  users.proc.stop();
  users.runner.join();
  auto ready = client.Get("/readyz");
  CAF_CHECK_EQUAL(ready->status, 503);
  CAF_CHECK_EQUAL(nlohmann::json::parse(ready->body)["reason"].get<std::string>(),
                  "group users: the processor is not running");
  auto health = client.Get("/healthz");
  CAF_CHECK_EQUAL(health->status, 503);
  CAF_CHECK_EQUAL(nlohmann::json::parse(health->body)["status"].get<std::string>(),
                  "group users: not running");
}

CAF_TEST(a bad listen address is a clear error) {
  std::string message;
  try {
    http_endpoint bad{*proc, http_endpoint_config{"localhost", {}, {}, {}}};
  } catch (const config_error& e) {
    message = e.what();
  }
  CAF_CHECK_EQUAL(message, "bad HTTP address 'localhost': write HOST:PORT, e.g. "
                           "127.0.0.1:8080 (port 0: any free port)");
}

CAF_TEST_FIXTURE_SCOPE_END()
