#define CAF_SUITE actors.timer_faults

// Durable timers in a group of several processes (partita-time-member: every record of
// `events` sets one timer for its key; the table counts "<set>/<fired>"): members killed and
// restarted while brokers fail, crashes injected between a batch's timer records and its table
// records. Every test ends with exact counts: once every timer is due, each key's value in the
// table topic and in the last member's LMDB stores is "<n>/<n>" for its n input records — a
// timer lost, fired twice, or kept from a batch the changelogs left out would show — and no
// timer is left, neither in the stores nor live in `t-timers`.
//
// PARTITA_CHAOS_SECONDS sets the length of the chaos test (default 12).

#include "actors/timer_format.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/cluster_control.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/group_members.hpp"

#include <caf/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 12;
constexpr int keys = 300;

struct fixture : group_lab {
  steady_load load{bootstrap, "events", keys};

  fixture() : group_lab("timer-test", {"events", "t-table", "t-timers", "t-dlq"}, partitions) {}
  ~fixture() { load.stop(); }

  void start(member& m, std::vector<std::string> env = {}) {
    auto args = member_args(m, bootstrap, "t");
    args.insert(args.end(), {"--delay-ms", "300"});
    m.start(PARTITA_TIME_MEMBER_BIN, args, dir, env);
  }

  int64_t committed() { return committed_total(bootstrap, "t", "events", partitions); }

  /// What every key's value must be once its timers fired: "<n>/<n>".
  std::map<std::string, std::string> expected() {
    std::map<std::string, std::string> out;
    for (const auto& [k, n] : count_by_key(read_topic(bootstrap, "events")))
      out[k] = std::to_string(n) + "/" + std::to_string(n);
    return out;
  }

  /// Timers live in `t-timers`: the last record of a timer's key is not its tombstone.
  std::size_t live_timers() {
    std::size_t n = 0;
    for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, "t-timers")))
      if (!is_owner_marker(k) && !v.empty())
        ++n;
    return n;
  }

  /// Stops the load, lets `last` alone take every partition, commit every record and fire
  /// every timer, stops it, and checks the table topic and its stores against the input.
  void check_exact(member& last) {
    load.stop();
    for (auto& m : members)
      if (&m != &last && m.proc && m.proc->running())
        m.end(SIGTERM);
    if (!last.proc->running())
      start(last);
    auto began = std::chrono::steady_clock::now();
    auto took = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                           began).count(); };
    CAF_REQUIRE(wait_until([&] { return last.running_partitions() == partitions; }, 120s, 200ms));
    CAF_MESSAGE("every partition running on " << last.name << " after " << took() << " s");
    CAF_REQUIRE(wait_until([&] { return all_committed(bootstrap, "t", "events", partitions); },
                           120s, 200ms));
    CAF_MESSAGE("every record committed after " << took() << " s");
    auto want = expected();
    bool settled = wait_until(
      [&] { return latest_by_key(read_topic(bootstrap, "t-table")) == want; }, 120s, 500ms);
    CAF_MESSAGE("every timer fired after " << took() << " s");
    last.end(SIGTERM);
    int64_t total = 0;
    for (const auto& [k, n] : count_by_key(read_topic(bootstrap, "events")))
      total += n;
    CAF_MESSAGE("input holds " << total << " records (" << load.produced() << " produced)");
    auto table = latest_by_key(read_topic(bootstrap, "t-table"));
    int64_t wrong = 0;
    for (const auto& [k, v] : want)
      if (table[k] != v && wrong++ < 5)
        CAF_MESSAGE("key " << k << ": table holds '" << table[k] << "', expected '" << v << "'");
    CAF_CHECK(settled);
    CAF_CHECK_EQUAL(wrong, 0);
    CAF_CHECK_EQUAL(table.size(), want.size()); // no key that no input record has
    std::map<std::string, std::string> stored;
    std::size_t stored_timers = 0;
    for (int p = 0; p < partitions; ++p) {
      partition_store store{store_config{partition_store::path_for(last.state, "t", "t-table", p)}};
      store.for_each([&](std::string_view k, std::string_view v) { stored[std::string{k}] = v; });
      stored_timers += store.side_size(side::timers);
    }
    CAF_CHECK(stored == want);
    CAF_CHECK_EQUAL(stored_timers, 0u);
    CAF_CHECK_EQUAL(live_timers(), 0u);
  }
};

/// PARTITA_CHAOS_SECONDS sets the length of the chaos test (default 12).
int chaos_seconds() {
  const char* text = std::getenv("PARTITA_CHAOS_SECONDS");
  return text ? std::max(8, std::atoi(text)) : 12;
}

/// Crashes member a at `point` (PARTITA_CRASH_AT); b takes every partition on an empty store
/// (reading what a left), then a comes back on its own store (which b's records made stale),
/// and the counts are checked.
void crash_and_take_over(fixture& f, const std::string& point) {
  auto& a = f.members[0];
  auto& b = f.members[1];
  f.load.start();
  f.start(a, {"PARTITA_CRASH_AT=" + point + ":3"});
  CAF_REQUIRE_EQUAL(a.proc->wait(90000), 86);
  CAF_CHECK(a.log().find("crashing at " + point) != std::string::npos);
  f.start(b);
  CAF_REQUIRE(wait_until([&] { return b.running_partitions() == partitions; }, 60s, 100ms));
  f.start(a);
  CAF_REQUIRE(wait_until([&] { return f.committed() > f.load.produced() / 2; }, 60s, 100ms));
  f.check_exact(b);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(timer_fault_tests, fixture)

CAF_TEST(timers set under load fire once each through member kills and broker faults) {
  for (auto& m : members)
    start(m);
  load.start();
  CAF_REQUIRE(wait_until([&] { return committed() > 0; }, 60s, 100ms));
  // A seeded chaos plan (broker crashes and restarts, leader moves) while every 4 s one member
  // is ended (SIGKILL and SIGTERM in turn) and started again on its own state directory.
  auto seconds = chaos_seconds();
  CAF_MESSAGE(start_chaos(cluster, 7, std::chrono::seconds{seconds}, "crash,restart,leader"));
  auto begin = std::chrono::steady_clock::now();
  for (int step = 1; step * 4 <= seconds; ++step) {
    std::this_thread::sleep_until(begin + step * 4s); // the schedule's pace
    auto& m = members[static_cast<size_t>(step % 3)];
    m.end(step % 2 ? SIGKILL : SIGTERM);
    start(m);
  }
  CAF_REQUIRE(wait_until([&] { return cluster.pending() == 0; }, 60s, 100ms));
  check_exact(members[0]);
}

CAF_TEST(a crash between the erased timers and the table records of timers fired is exact) {
  crash_and_take_over(*this, "after-fired-timers");
}

CAF_TEST_FIXTURE_SCOPE_END()
