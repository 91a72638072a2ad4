#define CAF_SUITE apps.prometheus

// Prometheus's own tools on Partita's figures: a real Prometheus server (Debian's) scrapes a
// running processor, and what it stores matches what the processor reports; promtool finds
// nothing to say about /metrics.

#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/served_counter.hpp"

#include <caf/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace partita;
using namespace partita::test;

namespace {

const char* prometheus_bin = "/usr/bin/prometheus";
const char* promtool_bin = "/usr/bin/promtool";

/// The sum of every sample of `name` in Prometheus text.
double sum_of(const std::string& metrics, const std::string& name) {
  std::istringstream lines{metrics};
  std::string line;
  double sum = 0;
  while (std::getline(lines, line))
    if (line.starts_with(name + "{") || line.starts_with(name + " "))
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

/// The value of an instant query's single result, or -1 while Prometheus has none.
double query(int port, const std::string& promql) {
  httplib::Client client{"127.0.0.1", port};
  auto res = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
  if (!res || res->status != 200)
    return -1;
  auto body = nlohmann::json::parse(res->body);
  const auto& result = body["data"]["result"];
  if (result.empty())
    return -1;
  return std::stod(result[0]["value"][1].get<std::string>());
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(prometheus_tests, served_counter)

CAF_TEST(promtool finds no problem in the metrics) {
  if (!std::filesystem::exists(promtool_bin))
    CAF_FAIL("promtool is missing: run `make deps` (the prometheus package is in "
             "cmake/debian-packages.txt)");
  start();
  produce(bootstrap, "clicks", {{"alice", "x"}, {"bob", "x"}});
  CAF_REQUIRE(wait_until([&] { return proc->stats().records == 2; }));
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "metrics.txt"} << get("/metrics")->body;
  child_process check{"/bin/sh", {"-c", std::string{promtool_bin} + " check metrics < " +
                                          (dir / "metrics.txt").string()},
                      (dir / "promtool").string()};
  CAF_CHECK_EQUAL(check.wait(30000), 0);
  CAF_CHECK_EQUAL(check.out() + check.err(), "");
}

CAF_TEST(a real Prometheus scrapes the values the processor reports) {
  if (!std::filesystem::exists(prometheus_bin))
    CAF_FAIL("prometheus is missing: run `make deps` (cmake/debian-packages.txt lists it)");
  start();
  std::vector<std::pair<std::string, std::string>> clicks;
  for (int i = 0; i < 500; ++i)
    clicks.emplace_back("user-" + std::to_string(i % 7), "x");
  produce(bootstrap, "clicks", clicks);
  CAF_REQUIRE(wait_until([&] { return proc->stats().records == 500; }));
  // Once committed, the lag is 0 and stays so: the figures hold still for the comparison.
  CAF_REQUIRE(wait_until(
    [&] { return sum_of(get("/metrics")->body, "partita_consumer_lag_records") == 0; }));

  std::filesystem::create_directories(dir / "prometheus");
  auto config = dir / "prometheus.yml";
  std::ofstream{config} << "global:\n  scrape_interval: 1s\n"
                        << "scrape_configs:\n  - job_name: partita\n    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << endpoint->port() << "']\n";
  auto port = free_port();
  child_process server{prometheus_bin,
                       {"--config.file=" + config.string(),
                        "--storage.tsdb.path=" + (dir / "prometheus").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                       (dir / "prometheus-server").string()};
  CAF_REQUIRE(wait_until([&] { return query(port, "up{job=\"partita\"}") == 1; },
                         std::chrono::seconds{60}));
  auto metrics = get("/metrics")->body;
  CAF_CHECK_EQUAL(query(port, "sum(partita_records_processed_total)"),
                  sum_of(metrics, "partita_records_processed_total"));
  CAF_CHECK_EQUAL(query(port, "sum(partita_records_processed_total)"), 500);
  CAF_CHECK_EQUAL(query(port, "sum(partita_consumer_lag_records)"),
                  sum_of(metrics, "partita_consumer_lag_records"));
  CAF_CHECK_EQUAL(query(port, "count(partita_consumer_lag_records)"), 4); // one per partition
  CAF_CHECK_EQUAL(query(port, "partita_partitions_assigned"), 4);
  CAF_CHECK(server.running());
}

CAF_TEST_FIXTURE_SCOPE_END()
