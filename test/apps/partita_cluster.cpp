#define CAF_SUITE apps.partita_cluster

#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include <unistd.h>

using namespace partita::test;

namespace {

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-cluster-test-" + std::to_string(::getpid()));
  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  std::string path(const char* name) const { return (dir / name).string(); }

  child_process start(std::vector<std::string> args) {
    return child_process{PARTITA_CLUSTER_BIN, std::move(args), path("cluster")};
  }

  std::string bootstrap() {
    std::string servers;
    wait_until([&] {
      std::ifstream{path("bootstrap")} >> servers;
      return !servers.empty();
    });
    return servers;
  }

  void send(const std::string& line) {
    std::ofstream{path("ctl")} << line << std::endl;
  }

  static std::vector<std::pair<std::string, std::string>> records(int n) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < n; ++i)
      out.emplace_back("user-" + std::to_string(i % 7), std::to_string(i));
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(partita_cluster_tests, fixture)

CAF_TEST(records survive a broker going down and up through the control pipe) {
  auto cluster = start({"--brokers", "3", "--topic", "clicks:3:3", "--bootstrap-file",
                        path("bootstrap"), "--control", path("ctl")});
  auto servers = bootstrap();
  CAF_REQUIRE(!servers.empty());
  CAF_CHECK_EQUAL(produce(servers, "clicks", records(200)), 200u);
  for (int p = 0; p < 3; ++p)
    send("leader clicks " + std::to_string(p) + " " + std::to_string(p + 1));
  send("down 1");
  CAF_REQUIRE(wait_until([&] { return cluster.err().find("fault: broker 1 down") != std::string::npos; }));
  auto before_2 = watermarks(servers, "clicks", 2).second;
  auto acked = std::async(std::launch::async, [&] { return produce(servers, "clicks", records(300)); });
  // Partitions led by live brokers take their records while broker 1 is down.
  CAF_REQUIRE(wait_until([&] { return watermarks(servers, "clicks", 2).second > before_2; }));
  send("up 1");
  CAF_CHECK_EQUAL(acked.get(), 300u);
  auto back = read_topic(servers, "clicks");
  CAF_CHECK_EQUAL(back.size(), 500u);
  CAF_CHECK(cluster.running());
  cluster.signal(SIGTERM);
  CAF_CHECK_EQUAL(cluster.wait(10000), 0);
}

CAF_TEST(the control pipe answers every command on stdout) {
  auto cluster = start({"--topic", "clicks:3:3", "--detection-delay", "300ms",
                        "--bootstrap-file", path("bootstrap"), "--control", path("ctl")});
  CAF_REQUIRE(!bootstrap().empty());
  send("kill 1");
  send("frobnicate");
  send("restart 2 soon");
  CAF_REQUIRE(wait_until([&] { return cluster.out().find("error down-for") != std::string::npos; }));
  auto out = cluster.out();
  CAF_CHECK(out.find("ok broker 1 down (crashed; its leaders move after 300 ms)\n") != std::string::npos);
  CAF_CHECK(out.find("error malformed command 'frobnicate'; commands: ") != std::string::npos);
  CAF_CHECK(out.find("error down-for must be a duration (500ms, 5s, 2m; at most a day), got 'soon'\n") != std::string::npos);
  // The controller elects other leaders for broker 1's partitions once it notices the crash.
  CAF_REQUIRE(wait_until([&] {
    send("status");
    auto o = cluster.out();
    auto last = o.rfind("broker 1 down\n");
    return last != std::string::npos && o.find("ok status", last) != std::string::npos &&
           o.find(" leader 1 ", last) == std::string::npos;
  }));
  out = cluster.out();
  auto status = out.substr(out.rfind("broker 1 down\n"));
  CAF_MESSAGE(status);
  CAF_CHECK(status.find("partition clicks/0 leader 2 replicas 1,2,3\n") != std::string::npos);
  CAF_CHECK(status.find("broker 2 up\nbroker 3 up\n") != std::string::npos);
  send("quit");
  CAF_CHECK_EQUAL(cluster.wait(10000), 0);
  CAF_CHECK(cluster.out().find("ok quit") != std::string::npos);
}

CAF_TEST(kcat produces and consumes through a rolling restart with nothing lost) {
  auto cluster = start({"--topic", "clicks:3:3", "--detection-delay", "500ms",
                        "--bootstrap-file", path("bootstrap"), "--control", path("ctl")});
  auto servers = bootstrap();
  CAF_REQUIRE(!servers.empty());
  send("rolling-restart 2s 1s");
  CAF_REQUIRE(wait_until([&] { return cluster.out().find("ok rolling restart") != std::string::npos; }));
  // kcat, an ordinary client, produces chunk after chunk until the last broker is back.
  int sent = 0;
  int chunks = 0;
  auto restarted = [&] {
    return cluster.err().find("rolling restart: broker 3 is back") != std::string::npos;
  };
  while (!restarted() || chunks < 2) {
    {
      std::ofstream lines{path("chunk")};
      for (int i = 0; i < 200; ++i, ++sent)
        lines << "user-" << sent % 7 << ":" << sent << "\n";
    }
    child_process kcat{"/usr/bin/kcat", {"-P", "-b", servers, "-t", "clicks", "-K:", "-l",
                                          path("chunk")}, path("kcat-produce")};
    CAF_REQUIRE_EQUAL(kcat.wait(120000), 0);
    ++chunks;
    CAF_REQUIRE(chunks < 200);
  }
  child_process consume{"/usr/bin/kcat", {"-C", "-b", servers, "-t", "clicks", "-e", "-q",
                                          "-f", "%s\n"}, path("kcat-consume")};
  CAF_REQUIRE_EQUAL(consume.wait(120000), 0);
  std::istringstream in{consume.out()};
  std::set<int> seen;
  int records = 0;
  for (std::string line; std::getline(in, line); ++records)
    seen.insert(std::stoi(line));
  CAF_MESSAGE(chunks << " chunks from kcat, " << sent << " records sent, " << records << " read");
  CAF_CHECK_EQUAL(seen.size(), static_cast<std::size_t>(sent));
  CAF_CHECK(seen.empty() || (*seen.begin() == 0 && *seen.rbegin() == sent - 1));
  CAF_CHECK(cluster.running());
  send("quit");
  CAF_CHECK_EQUAL(cluster.wait(10000), 0);
}

CAF_TEST(a malformed command is logged and the cluster keeps running) {
  auto cluster = start({"--topic", "t:1", "--bootstrap-file", path("bootstrap"), "--control",
                        path("ctl")});
  CAF_REQUIRE(!bootstrap().empty());
  send("down seven");
  send("frobnicate");
  CAF_REQUIRE(wait_until([&] { return cluster.err().find("malformed command 'frobnicate'") != std::string::npos; }));
  CAF_CHECK(cluster.err().find("broker must be a number, got 'seven'") != std::string::npos);
  CAF_CHECK(cluster.running());
  send("quit");
  CAF_CHECK_EQUAL(cluster.wait(10000), 0);
}

CAF_TEST(bootstrap servers are printed on stdout) {
  auto cluster = start({"--brokers", "2", "--bootstrap-file", path("bootstrap")});
  auto servers = bootstrap();
  CAF_CHECK(wait_until([&] { return cluster.out().find(servers) != std::string::npos; }));
  cluster.signal(SIGINT);
  CAF_CHECK_EQUAL(cluster.wait(10000), 0);
}

CAF_TEST(bad flags exit with code 2 and say what is wrong) {
  auto unknown = start({"--no-such-flag"});
  CAF_CHECK_EQUAL(unknown.wait(10000), 2);
  auto topic = start({"--topic", "clicks"});
  CAF_CHECK_EQUAL(topic.wait(10000), 2);
  CAF_CHECK(topic.err().find("expected NAME:PARTITIONS[:RF]") != std::string::npos);
  auto rf = start({"--brokers", "2", "--topic", "clicks:4:3"});
  CAF_CHECK_EQUAL(rf.wait(10000), 2);
  CAF_CHECK(rf.err().find("RF must be 1..2") != std::string::npos);
  auto delay = start({"--detection-delay", "soon"});
  CAF_CHECK_EQUAL(delay.wait(10000), 2);
  CAF_CHECK(delay.err().find("--detection-delay 'soon': expected a duration") != std::string::npos);
  auto chaos = start({"--chaos", "1", "--chaos-kinds", "meteor"});
  CAF_CHECK_EQUAL(chaos.wait(10000), 2);
  CAF_CHECK(chaos.err().find("unknown kind of fault 'meteor'") != std::string::npos);
}

CAF_TEST(help exits with code 0) {
  auto help = start({"--help"});
  CAF_CHECK_EQUAL(help.wait(10000), 0);
  CAF_CHECK(help.out().find("--control") != std::string::npos);
  CAF_CHECK(help.out().find("--chaos") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
