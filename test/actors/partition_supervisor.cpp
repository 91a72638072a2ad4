#define CAF_SUITE actors.partition_supervisor

#include "actors/partition_supervisor.hpp"

#include <caf/test/dsl.hpp>

#include <vector>

using namespace partita;
using namespace std::chrono_literals;

namespace {

using clock_type = restart_schedule::clock;

restart_policy policy() {
  restart_policy p;
  p.min_backoff = 100ms;
  p.max_backoff = 1000ms;
  p.multiplier = 2.0;
  p.jitter = 0.2;
  p.reset_after = 10s;
  p.max_restarts = 5;
  p.window = 60s;
  return p;
}

/// A partition actor stand-in: it runs until it is told to exit.
caf::behavior child() {
  return {[](int) {}};
}

/// Messages are consumed with consume_messages(), never run(): run() would also fire the
/// backoff timers, and these tests move time themselves.
struct fixture : test_coordinator_fixture<> {
  std::vector<int32_t> downs;
  std::vector<int32_t> restarts;
  std::vector<int32_t> failures;
  caf::actor supervisor;

  fixture() {
    supervisor_config cfg;
    cfg.group = "test";
    cfg.policy = policy();
    cfg.on_down = [this](int32_t p) { downs.push_back(p); };
    cfg.restart = [this](int32_t p) { restarts.push_back(p); };
    cfg.on_failed = [this](int32_t p, const std::string&) { failures.push_back(p); };
    cfg.random = [] { return 0.5; }; // no jitter: delays are exact
    supervisor = sys.spawn(partition_supervisor, cfg);
    consume_messages();
  }

  caf::actor watch(int32_t p) {
    auto c = sys.spawn(child);
    self->send(supervisor, watch_atom::value, p, c);
    consume_messages();
    return c;
  }

  void crash(const caf::actor& c) {
    self->send_exit(c, caf::make_error(errc::partition_failed, "boom"));
    consume_messages();
  }
};

} // namespace

CAF_TEST(the backoff doubles up to its cap) {
  restart_schedule s{policy()};
  auto t = clock_type::now();
  std::vector<int64_t> delays;
  for (int i = 0; i < 5; ++i)
    delays.push_back(s.failed(t, 0.5)->count());
  CAF_CHECK_EQUAL(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000}));
}

CAF_TEST(the jitter stays within its bounds) {
  auto t = clock_type::now();
  restart_schedule low{policy()};
  restart_schedule high{policy()};
  CAF_CHECK_EQUAL(low.failed(t, 0.0)->count(), 80);
  CAF_CHECK_EQUAL(high.failed(t, 0.999999)->count(), 120);
}

CAF_TEST(a stable period resets the backoff) {
  restart_schedule s{policy()};
  auto t = clock_type::now();
  s.failed(t, 0.5);
  s.started(t);
  CAF_CHECK_EQUAL(s.failed(t + 1s, 0.5)->count(), 200);
  s.started(t + 1s);
  CAF_CHECK_EQUAL(s.failed(t + 12s, 0.5)->count(), 100);
}

CAF_TEST(too many restarts within the window escalate) {
  restart_schedule s{policy()};
  auto t = clock_type::now();
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(s.failed(t + std::chrono::seconds{i}, 0.5).has_value());
  CAF_CHECK(!s.failed(t + 5s, 0.5).has_value());
  restart_schedule later{policy()};
  for (int i = 0; i < 5; ++i)
    later.failed(t + std::chrono::seconds{i * 20}, 0.5); // spread over 80 s: only 3 in a window
  CAF_CHECK(later.failed(t + 100s, 0.5).has_value());
}

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(a failed partition is paused and restarted after its backoff) {
  auto c = watch(3);
  crash(c);
  CAF_CHECK_EQUAL(downs, std::vector<int32_t>{3});
  CAF_CHECK(restarts.empty());
    advance_time(99ms);
  consume_messages();
  CAF_CHECK(restarts.empty());
    advance_time(1ms);
  consume_messages();
    CAF_CHECK_EQUAL(restarts, std::vector<int32_t>{3});
  // The new actor fails too: the next wait is twice as long.
  crash(watch(3));
  advance_time(199ms);
  consume_messages();
  CAF_CHECK_EQUAL(restarts.size(), 1u);
  advance_time(1ms);
  consume_messages();
  CAF_CHECK_EQUAL(restarts.size(), 2u);
}

CAF_TEST(a partition that stops normally is not restarted) {
  auto c = watch(1);
  self->send_exit(c, caf::exit_reason::normal);
  consume_messages();
  advance_time(10s);
  consume_messages();
  CAF_CHECK(downs.empty());
  CAF_CHECK(restarts.empty());
}

CAF_TEST(a new leader restarts a waiting partition at once) {
  crash(watch(2));
  self->send(supervisor, leader_atom::value, std::string{"clicks"}, int32_t{2}, int32_t{1},
             int32_t{3});
  consume_messages();
  CAF_CHECK_EQUAL(restarts, std::vector<int32_t>{2});
  advance_time(1s); // the timer of that backoff is stale now
  consume_messages();
  CAF_CHECK_EQUAL(restarts, std::vector<int32_t>{2});
}

CAF_TEST(a broker coming back restarts every waiting partition) {
  crash(watch(0));
  crash(watch(5));
  self->send(supervisor, broker_up_atom::value, int32_t{2});
  consume_messages();
  CAF_CHECK_EQUAL(restarts, (std::vector<int32_t>{0, 5}));
}

CAF_TEST(too many failures leave the partition failed and the supervisor alive) {
  for (int i = 0; i < 5; ++i) {
    crash(watch(4));
    advance_time(2s);
    consume_messages();
  }
  CAF_CHECK_EQUAL(restarts.size(), 5u);
  crash(watch(4));
  advance_time(30s);
  consume_messages();
  CAF_CHECK_EQUAL(restarts.size(), 5u);
  CAF_CHECK_EQUAL(failures, std::vector<int32_t>{4});
  // Still serving: another partition is watched and restarted as usual.
  crash(watch(6));
  advance_time(100ms);
  consume_messages();
  CAF_CHECK_EQUAL(restarts.back(), 6);
}

CAF_TEST(a partition stopped by its poison policy is not restarted) {
  auto c = watch(2);
  self->send_exit(c, caf::make_error(errc::partition_stopped, "poison"));
  consume_messages();
  advance_time(10s);
  consume_messages();
  CAF_CHECK_EQUAL(downs, std::vector<int32_t>{2});
  CAF_CHECK(restarts.empty());
  CAF_CHECK_EQUAL(failures, std::vector<int32_t>{2});
}

CAF_TEST(a revoked partition is forgotten) {
  auto c = watch(7);
  self->send(supervisor, unwatch_atom::value, int32_t{7});
  consume_messages();
  crash(c);
  advance_time(10s);
  consume_messages();
  CAF_CHECK(downs.empty());
  CAF_CHECK(restarts.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
