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
  CAF_CHECK(message("explode").find("commands: down <broker>") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
