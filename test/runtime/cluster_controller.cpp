#define CAF_SUITE runtime.cluster_controller

// The embedded cluster's controller in virtual time: who leads after a crash, a controlled
// shutdown, a return and a rolling restart; preferred leaders restored; chaos plans that are
// reproducible from their seed.

#include "runtime/chaos_plan.hpp"
#include "runtime/cluster_controller.hpp"

#include <caf/test/unit_test.hpp>

#include <set>

using namespace partita;
using namespace std::chrono_literals;

namespace {

/// True when `f` throws std::invalid_argument.
template <class F>
bool refused(F f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

struct fixture {
  election_settings settings() {
    election_settings s;
    s.detection_delay = 2s;
    s.preferred_leader_delay = 10s;
    return s;
  }
  cluster_controller controller{3, settings()};
  std::vector<bool> all_up{true, true, true};

  fixture() { controller.add_topic("clicks", 6, 3, 0ms); }

  int32_t leader(int32_t p) const {
    for (const auto& l : controller.leaderships())
      if (l.topic == "clicks" && l.partition == p)
        return l.leader;
    return -2;
  }
  int led_by(int32_t broker) const {
    int n = 0;
    for (int32_t p = 0; p < 6; ++p)
      n += leader(p) == broker;
    return n;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_controller_tests, fixture)

CAF_TEST(a new topic is spread over the brokers and led by its first replicas) {
  for (int32_t p = 0; p < 6; ++p)
    CAF_CHECK_EQUAL(leader(p), p % 3 + 1);
  auto groups = controller.add_group("clickcount", 0ms);
  CAF_REQUIRE_EQUAL(groups.size(), 1u);
  CAF_CHECK_EQUAL(groups[0].replicas.size(), 3u);
  CAF_CHECK(controller.add_group("clickcount", 0ms).empty());
}

CAF_TEST(a crashed broker keeps its leaders until the detection delay has passed) {
  controller.broker_crashed(2, 1000ms);
  CAF_CHECK(controller.tick(2999ms).empty());
  CAF_CHECK_EQUAL(led_by(2), 2);
  auto moved = controller.tick(3000ms);
  CAF_CHECK_EQUAL(moved.size(), 2u);
  CAF_CHECK_EQUAL(led_by(2), 0);
  // Partition 1 (replicas 2,3,1) goes to 3, partition 4 (replicas 2,3,1) too.
  CAF_CHECK_EQUAL(leader(1), 3);
  CAF_CHECK_EQUAL(leader(4), 3);
  CAF_CHECK(controller.tick(4000ms).empty());
}

CAF_TEST(a broker that comes back follows then leads its preferred partitions again) {
  controller.broker_crashed(1, 0ms);
  controller.tick(2000ms);
  CAF_CHECK_EQUAL(led_by(1), 0);
  CAF_CHECK(controller.broker_started(1, 5000ms).empty());
  CAF_CHECK(controller.tick(14999ms).empty());
  CAF_CHECK_EQUAL(led_by(1), 0);
  auto back = controller.tick(15000ms);
  CAF_CHECK_EQUAL(back.size(), 2u);
  CAF_CHECK_EQUAL(leader(0), 1);
  CAF_CHECK_EQUAL(leader(3), 1);
}

CAF_TEST(a controlled shutdown moves leaders before the broker goes down) {
  auto moved = controller.broker_stopping(3, 0ms);
  CAF_CHECK_EQUAL(moved.size(), 2u);
  CAF_CHECK_EQUAL(led_by(3), 0);
  CAF_CHECK(!controller.up(3));
  CAF_CHECK_EQUAL(leader(2), 1); // replicas 3,1,2
  CAF_CHECK(controller.tick(60000ms).empty());
}

CAF_TEST(a rolling restart ends with every preferred leader back) {
  auto t = 0ms;
  for (int32_t b = 1; b <= 3; ++b) {
    controller.broker_stopping(b, t);
    CAF_CHECK_EQUAL(led_by(b), 0);
    for (int32_t p = 0; p < 6; ++p)
      CAF_CHECK(leader(p) != -1);
    t += 5s;
    controller.broker_started(b, t);
    controller.tick(t);
    t += 5s;
    controller.tick(t);
  }
  controller.tick(t + 10s);
  for (int32_t p = 0; p < 6; ++p)
    CAF_CHECK_EQUAL(leader(p), p % 3 + 1);
}

CAF_TEST(a partition with no replica up is offline until one comes back) {
  controller.add_topic("solo", 1, 1, 0ms); // replica: broker 1
  controller.broker_crashed(1, 0ms);
  controller.tick(2000ms);
  auto solo = [&] {
    for (const auto& l : controller.leaderships())
      if (l.topic == "solo")
        return l.leader;
    return -2;
  };
  CAF_CHECK_EQUAL(solo(), -1);
  auto back = controller.broker_started(1, 3000ms);
  CAF_CHECK_EQUAL(solo(), 1);
  CAF_CHECK_EQUAL(back.size(), 1u);
}

CAF_TEST(a group coordinator moves off a crashed broker at once) {
  auto g = controller.add_group("clickcount", 0ms).at(0);
  controller.broker_crashed(g.leader, 0ms);
  controller.tick(0ms);
  for (const auto& l : controller.leaderships())
    if (l.group == "clickcount") {
      CAF_CHECK(l.leader != g.leader);
      CAF_CHECK(controller.up(l.leader));
    }
}

CAF_TEST(a coordinator detection delay keeps the coordinator on its crashed broker until then) {
  election_settings late = settings();
  late.coordinator_detection_delay = 2s;
  cluster_controller c{3, late};
  auto g = c.add_group("clickcount", 0ms).at(0);
  c.broker_crashed(g.leader, 0ms);
  CAF_CHECK(c.tick(1999ms).empty());
  auto moved = c.tick(2000ms);
  CAF_REQUIRE_EQUAL(moved.size(), 1u);
  CAF_CHECK(moved[0].leader != g.leader);
}

CAF_TEST(an operator move becomes the preferred leader and stays) {
  controller.set_leader("clicks", 0, 2);
  CAF_CHECK(controller.tick(60000ms).empty());
  CAF_CHECK_EQUAL(leader(0), 2);
  controller.set_leader("clicks", 1, -1);
  CAF_CHECK(controller.tick(70000ms).empty());
  CAF_CHECK_EQUAL(leader(1), -1);
}

CAF_TEST(without elections a crashed broker keeps leading) {
  election_settings off;
  off.enabled = false;
  cluster_controller plain{3, off};
  plain.add_topic("clicks", 3, 3, 0ms);
  plain.broker_crashed(1, 0ms);
  CAF_CHECK(plain.tick(60000ms).empty());
  CAF_CHECK_EQUAL(plain.leaderships()[0].leader, 1);
}

CAF_TEST(bad brokers and topics are refused) {
  CAF_CHECK(refused([&] { controller.broker_crashed(4, 0ms); }));
  CAF_CHECK(refused([&] { controller.set_leader("clicks", 0, 0); }));
  CAF_CHECK(refused([&] { controller.add_topic("t", 0, 1, 0ms); }));
  CAF_CHECK(refused([&] { controller.add_topic("t", 1, 4, 0ms); }));
}

CAF_TEST(a chaos plan is the same for the same seed and keeps one broker out at a time) {
  controller.add_group("clickcount", 0ms);
  const auto& books = controller.leaderships();
  auto a = make_chaos_plan(42, 60s, chaos_kinds(), all_up, books);
  auto b = make_chaos_plan(42, 60s, chaos_kinds(), all_up, books);
  auto c = make_chaos_plan(43, 60s, chaos_kinds(), all_up, books);
  CAF_REQUIRE(a.size() > 10u);
  CAF_REQUIRE_EQUAL(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAF_CHECK_EQUAL(a[i].at.count(), b[i].at.count());
    CAF_CHECK_EQUAL(a[i].command, b[i].command);
  }
  bool differs = a.size() != c.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i)
    differs = a[i].command != c[i].command;
  CAF_CHECK(differs);
  std::set<std::string> seen;
  int out = 0;
  for (const auto& step : a) {
    CAF_CHECK(step.at <= 60s);
    auto verb = step.command.substr(0, step.command.find(' '));
    seen.insert(verb);
    if (verb == "kill" || verb == "stop")
      CAF_CHECK_EQUAL(++out, 1);
    if (verb == "start")
      --out;
  }
  CAF_CHECK_EQUAL(out, 0);
  for (auto verb : {"kill", "stop", "start", "leader", "coordinator", "error", "rtt"}) {
    CAF_MESSAGE("a 60 s plan has a " << verb << " step");
    CAF_CHECK_EQUAL(seen.count(verb), 1u);
  }
}

CAF_TEST(a chaos plan started with a broker down takes no other down and moves nothing to it) {
  auto plan = make_chaos_plan(7, 60s, chaos_kinds(), {true, false, true}, controller.leaderships());
  CAF_REQUIRE(!plan.empty());
  for (const auto& step : plan) {
    CAF_CHECK(step.command.rfind("kill", 0) != 0 && step.command.rfind("stop", 0) != 0);
    if (step.command.rfind("leader", 0) == 0 || step.command.rfind("coordinator", 0) == 0)
      CAF_CHECK(step.command.back() != '2');
  }
}

CAF_TEST(without elections a controlled stop keeps a leadership no other replica can take) {
  election_settings off;
  off.enabled = false;
  cluster_controller plain{3, off};
  plain.add_topic("solo", 1, 1, 0ms);
  CAF_CHECK(plain.broker_stopping(1, 0ms).empty());
  CAF_CHECK_EQUAL(plain.leaderships()[0].leader, 1);
}

CAF_TEST(a chaos plan refuses unknown kinds and too short runs) {
  const auto& books = controller.leaderships();
  CAF_CHECK(refused([&] { make_chaos_plan(1, 60s, {"meteor"}, all_up, books); }));
  CAF_CHECK(refused([&] { make_chaos_plan(1, 500ms, chaos_kinds(), all_up, books); }));
  auto only = make_chaos_plan(1, 30s, {"leader"}, all_up, books);
  CAF_REQUIRE(!only.empty());
  for (const auto& step : only)
    CAF_CHECK_EQUAL(step.command.rfind("leader clicks ", 0), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
