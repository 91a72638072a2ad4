#define CAF_SUITE runtime.cluster_control

#include "runtime/cluster_control.hpp"

#include "runtime/embedded_cluster.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;

namespace {

struct fixture {
  embedded_cluster cluster{3};
  control_result::kind run(std::string_view line) {
    return apply_control_command(cluster, line).outcome;
  }
  std::string message(std::string_view line) {
    return apply_control_command(cluster, line).message;
  }
};

constexpr auto applied = control_result::kind::applied;
constexpr auto refused = control_result::kind::refused;

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_control_tests, fixture)

CAF_TEST(every command is applied) {
  cluster.create_topic("clicks", 4, 3);
  CAF_CHECK(run("down 2") == applied);
  CAF_CHECK(run("up 2") == applied);
  CAF_CHECK(run("leader clicks 1 3") == applied);
  CAF_CHECK(run("coordinator clickcount 2") == applied);
  CAF_CHECK(run("error Fetch NOT_LEADER_FOR_PARTITION 3") == applied);
  CAF_CHECK(run("rtt 1 20") == applied);
  CAF_CHECK(run("  quit ") == control_result::kind::quit);
  CAF_CHECK_EQUAL(message("leader clicks 1 3"), "leader of clicks/1 moved to broker 3");
  CAF_CHECK(run("kill 1") == applied);
  CAF_CHECK(run("start 1") == applied);
  CAF_CHECK(run("stop 3") == applied);
  CAF_CHECK(run("start 3") == applied);
  CAF_CHECK(run("restart 2 300ms") == applied);
  CAF_CHECK(run("group clickcount") == applied);
  CAF_CHECK(run("chaos 7 5s leader,errors") == applied);
  CAF_CHECK(run("rolling-restart 100ms 100ms") == applied);
  CAF_CHECK(cluster.pending() > 0u);
}

CAF_TEST(status lists brokers leaders replicas and coordinators) {
  cluster.create_topic("clicks", 2, 3);
  cluster.create_topic("clickcount-table", 2, 3);
  CAF_CHECK(run("stop 1") == applied);
  auto status = message("status");
  CAF_CHECK(status.find("broker 1 down\nbroker 2 up\nbroker 3 up\n") == 0u);
  CAF_CHECK(status.find("partition clicks/0 leader 2 replicas 1,2,3\n") != std::string::npos);
  CAF_CHECK(status.find("partition clicks/1 leader 2 replicas 2,3,1\n") != std::string::npos);
  CAF_CHECK(status.find("group clickcount coordinator ") != std::string::npos);
  CAF_CHECK(status.find("coordinator 1 ") == std::string::npos);
  CAF_CHECK(status.size() > 6 && status.substr(status.size() - 6) == "status");
}

CAF_TEST(durations take a unit or are seconds) {
  CAF_CHECK_EQUAL(parse_duration("500ms")->count(), 500);
  CAF_CHECK_EQUAL(parse_duration("5s")->count(), 5000);
  CAF_CHECK_EQUAL(parse_duration("2m")->count(), 120000);
  CAF_CHECK_EQUAL(parse_duration("3")->count(), 3000);
  CAF_CHECK(!parse_duration("5 s"));
  CAF_CHECK(!parse_duration("-1s"));
  CAF_CHECK(!parse_duration("soon"));
}

CAF_TEST(malformed commands are refused with what is wrong) {
  CAF_CHECK(run("") == refused);
  CAF_CHECK(run("explode") == refused);
  CAF_CHECK(run("down") == refused);
  CAF_CHECK(run("down two") == refused);
  CAF_CHECK(run("down 9") == refused);
  CAF_CHECK(run("rtt 1 -5") == refused);
  CAF_CHECK(run("error Fetch NOT_AN_ERROR 1") == refused);
  CAF_CHECK(run("error Fetchh _TRANSPORT 1") == refused);
  CAF_CHECK(run("error Fetch _TRANSPORT 0") == refused);
  CAF_CHECK_EQUAL(message("down two"), "broker must be a number, got 'two'");
  CAF_CHECK_EQUAL(message("down 9"), "down 9: no broker 9 (brokers are 1..3)");
  CAF_CHECK(message("explode").find("commands: kill|down <broker>") != std::string::npos);
  CAF_CHECK_EQUAL(message("restart 1 soon"),
                  "down-for must be a duration (500ms, 5s, 2m; at most a day), got 'soon'");
  CAF_CHECK_EQUAL(message("chaos 1 10s meteor"),
                  "chaos 1 10s meteor: unknown kind of fault 'meteor' (kinds: crash, restart, "
                  "leader, coordinator, errors, latency)");
  CAF_CHECK_EQUAL(message("chaos x 10s"), "seed must be a non-negative number, got 'x'");
  CAF_CHECK_EQUAL(message("coordinator g -1"),
                  "coordinator g -1: a group always has a coordinator: name a broker 1..3");
  CAF_CHECK(run("rolling-restart 1s 1s 1s") == refused);
  cluster.create_topic("clicks", 2, 3);
  CAF_CHECK_EQUAL(message("leader clicks -1 1"), "leader clicks -1 1: topic clicks has partitions 0..1");
  CAF_CHECK_EQUAL(message("leader clicks 2 1"), "leader clicks 2 1: topic clicks has partitions 0..1");
  CAF_CHECK_EQUAL(message("leader nothing 0 1"), "leader nothing 0 1: no topic nothing (create it first)");
  CAF_CHECK_EQUAL(message("leader clicks 4294967295 1"), "partition 4294967295 is out of range");
  CAF_CHECK_EQUAL(message("kill -1"), "kill -1: no broker -1 (brokers are 1..3)");
  CAF_CHECK_EQUAL(message("error Fetch _TRANSPORT 20000"), "count must be 1..10000");
  CAF_CHECK(message("chaos 1 100000000m").find("at most a day") != std::string::npos);
  CAF_CHECK(run("kill 3") == applied);
  CAF_CHECK_EQUAL(message("leader clicks 0 3"),
                  "leader clicks 0 3: broker 3 is down; a leader or coordinator must be a broker "
                  "that is up");
  CAF_CHECK(run("start 3") == applied);
}

CAF_TEST_FIXTURE_SCOPE_END()
