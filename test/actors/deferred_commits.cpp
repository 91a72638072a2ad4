#define CAF_SUITE actors.deferred_commits

// Deferred commits (ctx.defer_commit()) on the embedded cluster: a processor hands each record
// to an outside worker and commits it only once the worker is done with it. A record whose
// work is not done when its processor stops is processed again by the next run, through a
// broker outage; the worker saw every input record, and the table topic and the LMDB stores
// count each one once. Records waiting for their handles show in /metrics and on the status
// page. Work that keeps failing sends its record to the dead-letter topic. In a
// group of processes (partita-time-member --defer-ms), a member killed with commits deferred
// while a broker restarts loses and doubles nothing.

#include "apps/status_report.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"
#include "test/support/group_members.hpp"
#include "test/support/running.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <set>
#include <sstream>

#include <unistd.h>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 4;

/// The other system: takes each record's commit handle and, on a thread of its own, does its
/// work (first `budget` records only, then it stalls) and calls the handle; it fails the work
/// of the key "bad" every time.
class worker {
public:
  explicit worker(std::size_t budget) : budget_(budget), thread_([this] { loop(); }) {}
  ~worker() {
    {
      std::lock_guard lock{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void take(std::string key, std::string source, commit_handle h) {
    std::lock_guard lock{mtx_};
    ++handed_;
    queue_.push_back({std::move(key), std::move(source), std::move(h)});
    cv_.notify_one();
  }
  std::size_t handed() {
    std::lock_guard lock{mtx_};
    return handed_;
  }
  /// The records ("partition/offset") whose work was done.
  std::set<std::string> done() {
    std::lock_guard lock{mtx_};
    return done_;
  }

private:
  struct job {
    std::string key, source;
    commit_handle handle;
  };
  void loop() {
    std::unique_lock lock{mtx_};
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || (!queue_.empty() && worked_ < budget_); });
      if (stop_)
        return;
      auto j = std::move(queue_.front());
      queue_.pop_front();
      ++worked_;
      if (j.key != "bad")
        done_.insert(j.source);
      lock.unlock();
      j.key == "bad" ? j.handle.fail("the other system refused it") : j.handle.done();
      lock.lock();
    }
  }
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  std::set<std::string> done_;
  std::size_t budget_, worked_ = 0, handed_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

/// Counts the records of each key, handing each to `w` with its commit deferred.
group_graph<int64_codec> deferring_graph(worker& w) {
  group_graph<int64_codec> graph{"deferring"};
  graph.input("orders", bytes_codec{}, [&w](auto& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
    w.take(std::string{ctx.key()},
           std::to_string(ctx.partition()) + "/" + std::to_string(ctx.offset()),
           ctx.defer_commit());
  });
  return graph;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-deferred-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();
  processor_config cfg = embedded_config(cluster, dir);

  fixture() {
    std::filesystem::remove_all(dir);
    cluster.create_topic("orders", partitions, 3);
    cfg.drain_timeout = 1s;
    cfg.restart.min_backoff = 100ms;
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  int64_t committed() { return committed_total(bootstrap, "deferring", "orders", partitions); }
  bool all_committed() { return test::all_committed(bootstrap, "deferring", "orders", partitions); }

  /// The table topic and the stores count every input record once (but those of `left_out`).
  void check_counts(const std::string& left_out = "") {
    auto expected = count_by_key(read_topic(bootstrap, "orders"));
    expected.erase(left_out);
    CAF_CHECK_EQUAL(changelog_counts(bootstrap, "deferring"), expected);
    CAF_CHECK_EQUAL(stored_counts(dir, "deferring", partitions), expected);
  }
};

/// Records waiting for their handles: partita_deferred_records summed over the partitions, as
/// /metrics shows them, and the status page's "deferred" column summed.
std::pair<int64_t, int64_t> deferred_shown(const processor& p) {
  int64_t in_metrics = 0;
  std::istringstream lines{metrics_report({&p}, {})};
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("partita_deferred_records{"))
      in_metrics += std::stoll(line.substr(line.rfind(' ') + 1));
  int64_t on_page = 0;
  auto page = status_report({&p}, {});
  for (const auto& part : page["partition_list"])
    on_page += part["deferred"].get<int64_t>();
  return {in_metrics, on_page};
}

std::vector<std::pair<std::string, std::string>> orders(int n, int keys) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back("customer-" + std::to_string(i % keys), "order");
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(deferred_commit_tests, fixture)

CAF_TEST(records whose work was not done are processed again and counted once) {
  CAF_REQUIRE_EQUAL(produce(bootstrap, "orders", orders(400, 20)), 400u);
  worker first{150}; // stalls after 150 records
  {
    running<processor> run{cfg, deferring_graph(first)};
    CAF_REQUIRE(wait_until([&] { return first.handed() >= 400 && first.done().size() == 150; },
                           60s));
    // The 250 records whose handles the stalled worker holds are shown waiting.
    CAF_CHECK(wait_until(
      [&] { return deferred_shown(*run) == std::pair<int64_t, int64_t>{250, 250}; }, 30s));
    CAF_MESSAGE("waiting for their handles (metrics, status page): "
                << deferred_shown(*run).first << ", " << deferred_shown(*run).second);
  } // stopped: its drain times out with the rest of the work open
  auto committed_first = committed();
  CAF_MESSAGE(committed_first << " of 400 committed by the first run");
  CAF_CHECK_LESS(committed_first, 400);
  // The next run starts with a broker down and processes the rest again.
  worker second{1000000};
  cluster.broker_down(2);
  {
    running<processor> run{cfg, deferring_graph(second)};
    CAF_REQUIRE(wait_until([&] { return committed() > committed_first; }, 60s));
    cluster.broker_up(2);
    CAF_REQUIRE(wait_until([&] { return all_committed(); }, 90s));
  }
  CAF_CHECK_GREATER_OR_EQUAL(second.handed(), static_cast<std::size_t>(400 - committed_first));
  auto done = first.done();
  for (const auto& s : second.done())
    done.insert(s);
  CAF_CHECK_EQUAL(done.size(), 400u); // every record's work done, at least once
  check_counts();
}

CAF_TEST(work that keeps failing sends its record to the dead-letter topic) {
  auto input = orders(60, 6);
  input.insert(input.begin() + 30, {"bad", "order"});
  CAF_REQUIRE_EQUAL(produce(bootstrap, "orders", input), 61u);
  cfg.poison_retries = 1;
  worker w{1000000};
  {
    running<processor> run{cfg, deferring_graph(w)};
    CAF_REQUIRE(wait_until([&] { return all_committed(); }, 90s));
  }
  CAF_CHECK_EQUAL(w.done().size(), 60u);
  auto dead = read_topic(bootstrap, "deferring-dlq");
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(dead.front().key, "bad");
  CAF_CHECK(dead.front().headers["partita.error"].find("deferred work") != std::string::npos);
  check_counts("bad");
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

/// Members a and b of group "d" counting `events` (partita-time-member: "<n>/0" per key), each
/// record's commit deferred 300 ms.
struct group_fixture : group_lab {
  steady_load load{bootstrap, "events", 300};
  group_fixture() : group_lab("deferred-group-test", {"events", "d-table", "d-dlq"}, partitions) {}
  ~group_fixture() { load.stop(); }
  void start(member& m) {
    auto args = member_args(m, bootstrap, "d");
    args.insert(args.end(), {"--no-timers", "--defer-ms", "300"});
    m.start(PARTITA_TIME_MEMBER_BIN, args, dir);
  }
  int64_t committed() { return committed_total(bootstrap, "d", "events", partitions); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(deferred_group_tests, group_fixture)

CAF_TEST(a member killed with commits deferred while a broker restarts loses and doubles nothing) {
  auto& a = members[0];
  auto& b = members[1];
  start(a);
  start(b);
  load.start();
  CAF_REQUIRE(wait_until([&] { return committed() > 1000; }, 60s, 100ms));
  cluster.broker_restart(2, 3000ms);
  auto before = committed();
  a.end(SIGKILL); // with records whose commit waits
  start(a);
  CAF_REQUIRE(wait_until([&] { return committed() > before + 1000; }, 90s, 100ms));
  load.stop();
  // a alone takes every partition and commits every record.
  b.end(SIGTERM);
  CAF_REQUIRE(wait_until([&] { return a.running_partitions() == partitions; }, 120s, 200ms));
  CAF_REQUIRE(wait_until(
    [&] { return test::all_committed(bootstrap, "d", "events", partitions); }, 120s, 200ms));
  a.end(SIGTERM);
  std::map<std::string, std::string> want;
  for (const auto& [k, n] : count_by_key(read_topic(bootstrap, "events")))
    want[k] = std::to_string(n) + "/0";
  CAF_MESSAGE(load.produced() << " records over " << want.size() << " keys");
  CAF_CHECK_EQUAL(latest_by_key(read_topic(bootstrap, "d-table")), want);
  CAF_CHECK_EQUAL(stored_values(a.state, "d", partitions), want);
}

CAF_TEST_FIXTURE_SCOPE_END()
