#define CAF_SUITE apps.http_endpoint

#include "apps/http_endpoint.hpp"

#include "apps/clickcount_graph.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <httplib.h>

#include <filesystem>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-http-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{1};
  std::string bootstrap = cluster.bootstrap_servers();
  std::unique_ptr<processor> proc;
  std::unique_ptr<http_endpoint> endpoint;
  std::thread runner;

  fixture() {
    std::filesystem::remove_all(dir);
    cluster.create_topic("clicks", 4, 1);
    processor_config cfg;
    cfg.brokers = bootstrap;
    cfg.state_dir = dir;
    cfg.cluster = &cluster;
    proc = std::make_unique<processor>(cfg, apps::clickcount_graph("counts", "clicks"));
    endpoint = std::make_unique<http_endpoint>(
      *proc, http_endpoint_config{"127.0.0.1:0", "counts", [](std::string_view v) {
                                    return nlohmann::json(int64_codec{}.decode(v));
                                  }});
  }

  ~fixture() {
    proc->stop();
    if (runner.joinable())
      runner.join();
    endpoint.reset();
    std::filesystem::remove_all(dir);
  }

  void start() {
    runner = std::thread{[this] { proc->run(); }};
  }

  httplib::Result get(const std::string& path) {
    httplib::Client client{"127.0.0.1", endpoint->port()};
    return client.Get(path.c_str());
  }
};

} // namespace

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
  auto metrics = get("/metrics")->body;
  CAF_CHECK(metrics.find("# TYPE partita_records_processed_total counter\n"
                         "partita_records_processed_total 3\n") != std::string::npos);
  CAF_CHECK(metrics.find("partita_partitions_assigned 4\n") != std::string::npos);
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
  httplib::Client client{"127.0.0.1", endpoint->port()};
  auto post = client.Post("/healthz", "x", "text/plain");
  CAF_CHECK_EQUAL(post->status, 405);
}

CAF_TEST(a bad listen address is a clear error) {
  std::string message;
  try {
    http_endpoint bad{*proc, http_endpoint_config{"localhost", "counts", {}}};
  } catch (const config_error& e) {
    message = e.what();
  }
  CAF_CHECK_EQUAL(message, "bad HTTP address 'localhost': write HOST:PORT, e.g. "
                           "127.0.0.1:8080 (port 0: any free port)");
}

CAF_TEST_FIXTURE_SCOPE_END()
