#define CAF_SUITE apps.partita_clickcount

#include "runtime/embedded_cluster.hpp"
#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-clickcount-test-" + std::to_string(::getpid()));
  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  child_process start(std::vector<std::string> args, const std::string& name = "clickcount") {
    return child_process{PARTITA_CLICKCOUNT_BIN, std::move(args), (dir / name).string()};
  }
};

/// The value of the sample `name` (with its labels written as in the text) in /metrics text.
double sample(const std::string& metrics, const std::string& name) {
  std::istringstream lines{metrics};
  std::string line;
  while (std::getline(lines, line))
    if (line.starts_with(name + " "))
      return std::stod(line.substr(name.size() + 1));
  return -1;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(partita_clickcount_tests, fixture)

CAF_TEST(the example config file of deploy is valid) {
  auto config = std::string{PARTITA_SOURCE_DIR} + "/deploy/clickcount.toml";
  auto child = start({"--config", config, "--print-config"});
  CAF_REQUIRE_EQUAL(child.wait(10000), 0);
  CAF_CHECK(child.out().find("log-format = 'json'") != std::string::npos);
  CAF_CHECK(child.out().find("'session.timeout.ms' = '10000'") != std::string::npos);
}

CAF_TEST(bad settings exit with code 2 naming the setting) {
  auto flag = start({"--on-poison", "ignore"});
  CAF_CHECK_EQUAL(flag.wait(10000), 2);
  CAF_CHECK(flag.err().find("--on-poison") != std::string::npos);
  auto kafka = start({"--kafka", "no.such.property=1"});
  CAF_CHECK_EQUAL(kafka.wait(10000), 2);
  CAF_CHECK(kafka.err().find("no.such.property") != std::string::npos);
  auto http = start({"--brokers", "127.0.0.1:1", "--http", "nowhere"});
  CAF_CHECK_EQUAL(http.wait(30000), 2);
}

CAF_TEST(a second process on a state directory in use exits with code 2 naming the holder) {
  embedded_cluster cluster{1};
  for (const char* topic : {"clicks", "g-table", "g-dlq"})
    cluster.create_topic(topic, 2, 1);
  std::vector<std::string> args{
    "--brokers",   cluster.bootstrap_servers(), "--group",          "g",
    "--state-dir", (dir / "state").string(),    "--stats-interval", "0"};
  auto first = start(args, "holder");
  CAF_REQUIRE(wait_until([&] { return first.err().find("subscribed") != std::string::npos; }));
  auto second = start(args, "second");
  CAF_CHECK_EQUAL(second.wait(20000), 2);
  CAF_CHECK(second.err().find((dir / "state" / "g").string()) != std::string::npos);
  CAF_CHECK(second.err().find("in use by process") != std::string::npos);
  CAF_CHECK(first.running());
  first.signal(SIGTERM);
  CAF_CHECK_EQUAL(first.wait(30000), 0);
}

CAF_TEST(sigterm under load drains and commits and a restart reprocesses nothing) {
  embedded_cluster cluster{3};
  for (const char* topic : {"clicks", "g-table", "g-dlq"})
    cluster.create_topic(topic, 8, 3);
  auto bootstrap = cluster.bootstrap_servers();
  const int keys = 100;
  const int total = 40000;
  // Records arrive while the processor runs, in steady chunks.
  std::atomic<int> produced{0};
  std::thread load{[&] {
    for (int sent = 0; sent < total; sent += 500) {
      std::vector<std::pair<std::string, std::string>> chunk;
      for (int i = sent; i < sent + 500; ++i)
        chunk.emplace_back("user-" + std::to_string(i % keys), "click");
      produced += static_cast<int>(produce(bootstrap, "clicks", chunk));
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }};
  auto port = free_port();
  std::vector<std::string> args{"--brokers",
                                bootstrap,
                                "--group",
                                "g",
                                "--state-dir",
                                (dir / "state").string(),
                                "--http",
                                "127.0.0.1:" + std::to_string(port),
                                "--consumer",
                                "session.timeout.ms=6000",
                                "--stats-interval",
                                "0",
                                "--shutdown-timeout",
                                "20s",
                                "--log-format",
                                "json"};
  httplib::Client http{"127.0.0.1", port};
  auto metrics = [&] {
    auto res = http.Get("/metrics");
    return res && res->status == 200 ? res->body : std::string{};
  };
  auto processed = [&] {
    return sample(metrics(), "partita_records_processed_total{topic=\"clicks\"}");
  };

  auto first = start(args, "first");
  CAF_REQUIRE(wait_until([&] { return processed() >= 5000; }, std::chrono::seconds{90}));
  CAF_CHECK(produced < total); // still under load
  auto signalled = std::chrono::steady_clock::now();
  first.signal(SIGTERM);
  CAF_REQUIRE_EQUAL(first.wait(30000), 0);
  auto took = std::chrono::steady_clock::now() - signalled;
  CAF_CHECK(took < std::chrono::seconds{20});
  // Every log line is a JSON object with the fields operators filter on.
  int64_t first_records = -1;
  std::istringstream lines{first.err()};
  std::string line;
  std::regex stopped{R"(group g stopped after (\d+) records)"};
  while (std::getline(lines, line)) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.contains("time") || !entry.contains("level") ||
        !entry.contains("logger") || !entry.contains("message"))
      CAF_FAIL("not a JSON log line: " << line);
    std::smatch m;
    auto message = entry["message"].get<std::string>();
    if (std::regex_search(message, m, stopped))
      first_records = std::stoll(m[1]);
  }
  CAF_REQUIRE(first_records > 0);
  load.join();
  CAF_REQUIRE_EQUAL(produced.load(), total);

  // The second run starts where the first committed: it processes exactly the rest.
  auto second = start(args, "second");
  auto count_of = [&](int k) -> int64_t {
    auto res = http.Get(("/tables/g-table/user-" + std::to_string(k)).c_str());
    if (!res || res->status != 200)
      return 0;
    return nlohmann::json::parse(res->body)["value"].get<int64_t>();
  };
  CAF_REQUIRE(wait_until(
    [&] {
      int64_t sum = 0;
      for (int k = 0; k < keys; ++k)
        sum += count_of(k);
      return sum >= total;
    },
    std::chrono::seconds{120}, std::chrono::milliseconds{500}));
  for (int k = 0; k < keys; ++k)
    CAF_CHECK_EQUAL(count_of(k), total / keys);
  CAF_CHECK_EQUAL(processed(), static_cast<double>(total - first_records));
  second.signal(SIGTERM);
  CAF_CHECK_EQUAL(second.wait(30000), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
