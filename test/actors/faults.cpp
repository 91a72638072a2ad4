#define CAF_SUITE actors.faults

// Promise 2 and 3 under fire: a processor counting clicks under steady load while the embedded
// cluster loses brokers, moves leaders and coordinators, and fails requests. Each test asserts
// that the process stayed up and that every key's count is exact — nothing lost, nothing twice —
// against what the input topic actually holds.
//
// A crashed broker's leaderships and coordinator move after the embedded cluster's controller
// notices (2 s), as in a real cluster. (The embedded cluster moves coordinators at once by
// default, against a defect of its mock that a group of one member cannot meet: docs/faults.md.)
// The 2.0.2 mock cluster's own defects shape these tests:
// it does no sequence check for a non-transactional idempotent producer, so injected Produce errors can
// make it acknowledge records it never wrote — Produce errors are not injected here; and a
// client-side produce timeout makes it write a batch twice — no injected delay comes near the
// client timeouts.

#include "runtime/processor.hpp"

#include "runtime/embedded_cluster.hpp"
#include "runtime/group_graph.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 8;
constexpr int keys = 40;
constexpr int chunk = 2000; // records per load step

/// Counts clicks; throws for the key "poison".
group_graph<int64_codec> counting_graph() {
  group_graph<int64_codec> graph{"faults"};
  graph.input("clicks", bytes_codec{}, [](auto& ctx, const std::string&) {
    if (ctx.key() == "poison")
      throw std::runtime_error("poison cannot be counted");
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  return graph;
}

/// Elections as the embedded cluster's defaults, and the coordinator unreachable until the
/// crash is noticed, as the partitions' leaders are.
election_settings coordinator_noticed_late() {
  election_settings s;
  s.coordinator_detection_delay = s.detection_delay;
  return s;
}

struct fixture {
  std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("partita-faults-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3, coordinator_noticed_late()};
  std::string bootstrap = cluster.bootstrap_servers();
  std::unique_ptr<processor> proc;
  std::thread runner;
  std::string run_error;
  std::atomic<bool> run_returned{false};
  std::atomic<int> produced{0};
  /// Measures the longest stall: time in which records were waiting and none was processed.
  std::thread stall_meter;
  std::atomic<bool> metering{false};
  std::chrono::milliseconds longest_stall{0};

  fixture() {
    std::filesystem::remove_all(dir);
    cluster.create_topic("clicks", partitions, 3);
    cluster.create_topic("faults-table", partitions, 3);
    cluster.create_topic("faults-dlq", partitions, 3);
  }

  ~fixture() {
    stop();
    std::filesystem::remove_all(dir);
  }

  /// Starts the processor; `wait_ready`: and waits until every partition is ready.
  void start(bool wait_ready = true) {
    processor_config cfg;
    cfg.brokers = bootstrap;
    cfg.state_dir = dir / "state";
    cfg.cluster = &cluster;
    cfg.consumer["session.timeout.ms"] = "6000";
    cfg.restart.min_backoff = 100ms;
    cfg.restart.max_backoff = 2s;
    cfg.poison_retries = 2;
    proc = std::make_unique<processor>(cfg, counting_graph());
    runner = std::thread{[this] {
      try {
        proc->run();
      } catch (const std::exception& e) {
        run_error = e.what();
      }
      run_returned = true;
    }};
    if (!wait_ready)
      return;
    CAF_REQUIRE(wait_until([&] {
      auto s = proc->stats();
      return s.partitions == partitions && s.ready == partitions;
    }));
    start_stall_meter();
  }

  void stop() {
    metering = false;
    if (stall_meter.joinable())
      stall_meter.join();
    if (!proc)
      return;
    proc->stop();
    if (runner.joinable())
      runner.join();
  }

  void start_stall_meter() {
    metering = true;
    stall_meter = std::thread{[this] {
      auto last = processed();
      auto since = std::chrono::steady_clock::now();
      while (metering) {
        std::this_thread::sleep_for(20ms); // a sampling period, not a wait
        auto now = std::chrono::steady_clock::now();
        auto n = processed();
        if (n != last || n >= static_cast<uint64_t>(produced.load())) {
          last = n;
          since = now;
        } else {
          longest_stall = std::max(
            longest_stall, std::chrono::duration_cast<std::chrono::milliseconds>(now - since));
        }
      }
    }};
  }

  /// One step of load: `chunk` clicks spread over the keys. The producer waits for every
  /// acknowledgement, so a step may take as long as the fault lets it.
  void load_step() {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < chunk; ++i)
      records.emplace_back("user-" + std::to_string((produced.load() + i) % keys), "click");
    produce(bootstrap, "clicks", records);
    produced += chunk;
  }

  uint64_t processed() const { return proc->stats().records; }

  /// Holds a fault for at least `duration` and until the processor has made progress with the
  /// records of the steps produced meanwhile: the rest of the process keeps working.
  void hold(std::chrono::seconds duration, int steps) {
    auto until = std::chrono::steady_clock::now() + duration;
    auto before = processed();
    for (int i = 0; i < steps; ++i)
      load_step();
    CAF_CHECK(
      wait_until([&] { return processed() > before && std::chrono::steady_clock::now() >= until; },
                 duration + 60s));
    CAF_CHECK(!run_returned);
  }

  /// Waits for every record to be processed and committed, stops, and checks the counts in
  /// the state and in the changelog against what the input topic holds.
  void check_exact(const std::set<std::string>& excluded = {}) {
    auto input = read_topic(bootstrap, "clicks");
    for (int p = 0; p < partitions; ++p)
      CAF_REQUIRE_EQUAL(watermarks(bootstrap, "clicks", p).first, 0);
    auto expected = count_by_key(input);
    for (const auto& k : excluded)
      expected.erase(k);
    int64_t total = 0;
    for (const auto& [k, n] : expected)
      total += n;
    CAF_MESSAGE("input holds " << input.size() << " records (" << produced << " produced)");
    CAF_REQUIRE(wait_until(
      [&] {
        auto c = committed(bootstrap, "faults", "clicks", partitions);
        for (int p = 0; p < partitions; ++p)
          if (c[static_cast<size_t>(p)] != watermarks(bootstrap, "clicks", p).second)
            return false;
        return true;
      },
      120s));
    CAF_CHECK(!run_returned);
    CAF_CHECK_EQUAL(proc->stats().failed, 0u);
    stop();
    CAF_MESSAGE("longest stall: " << longest_stall.count() << " ms");
    CAF_CHECK_EQUAL(run_error, "");
    CAF_MESSAGE("processed " << processed() << " of " << total);
    CAF_CHECK_EQUAL(processed(), static_cast<uint64_t>(total));
    auto state = stored_counts(dir / "state", "faults", partitions);
    auto changelog = std::map<std::string, int64_t>{};
    for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, "faults-table")))
      changelog[k] = int64_codec{}.decode(v);
    CAF_CHECK_EQUAL(state, expected);
    CAF_CHECK_EQUAL(changelog, expected);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(fault_tests, fixture)

CAF_TEST(one broker of three down for 10 s loses and duplicates nothing) {
  start();
  load_step();
  cluster.broker_down(2);
  hold(10s, 2);
  cluster.broker_up(2);
  load_step();
  check_exact();
}

CAF_TEST(the broker holding the group coordinator down for 10 s loses and duplicates nothing) {
  cluster.move_coordinator("faults", 3);
  start();
  load_step();
  cluster.broker_down(3);
  hold(10s, 2);
  cluster.broker_up(3);
  load_step();
  check_exact();
}

CAF_TEST(a rolling restart of every broker loses and duplicates nothing) {
  start();
  // As a managed service patches a cluster: each broker's leaders move away, it is down for
  // 3 s, and the next follows 2 s after it is back.
  cluster.rolling_restart(3s, 2s);
  while (cluster.pending() > 0)
    load_step();
  load_step();
  check_exact();
}

CAF_TEST(brokers crashing one after another lose and duplicate nothing) {
  start();
  for (int32_t b = 1; b <= 3; ++b) {
    cluster.broker_down(b);
    hold(3s, 1);
    cluster.broker_up(b);
    load_step();
  }
  check_exact();
}

CAF_TEST(leaders moved again and again lose and duplicate nothing) {
  start();
  for (int round = 0; round < 6; ++round) {
    for (int p = 0; p < partitions; ++p) {
      cluster.move_leader("clicks", p, (p + round) % 3 + 1);
      cluster.move_leader("faults-table", p, (p + round + 1) % 3 + 1);
    }
    load_step();
  }
  check_exact();
}

CAF_TEST(a moved group coordinator loses and duplicates nothing) {
  start();
  for (int32_t b : {2, 3, 1}) {
    load_step();
    cluster.move_coordinator("faults", b);
    load_step();
  }
  check_exact();
}

CAF_TEST(transient request errors lose and duplicate nothing) {
  start();
  for (const char* api : {"Fetch", "OffsetCommit", "Heartbeat", "JoinGroup", "Metadata"}) {
    load_step();
    cluster.push_request_errors(api_key_by_name(api), RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                3);
    cluster.push_request_errors(api_key_by_name(api), RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 2);
  }
  load_step();
  check_exact();
}

CAF_TEST(a member stopped after joining and before its first assignment stops cleanly) {
  // The member's JoinGroup succeeds and its SyncGroup keeps failing: librdkafka 2.0.2 aborts the
  // process when such a consumer is destroyed (librdkafka #4312); the pump keeps the handle.
  cluster.move_coordinator("faults", 2);
  constexpr std::size_t errors = 1000;
  auto sync_group = api_key_by_name("SyncGroup");
  cluster.push_broker_request_errors(2, sync_group, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
                                     errors);
  start(false);
  CAF_REQUIRE(wait_until([&] { return cluster.broker_request_errors_left(2, sync_group) < errors; }));
  stop();
  CAF_CHECK(run_returned);
  CAF_CHECK_EQUAL(run_error, "");
  CAF_CHECK_EQUAL(proc->stats().partitions, 0u);
  proc.reset(); // where the process aborted
}

CAF_TEST(a poison record is dead - lettered and the other partitions never stall) {
  start();
  load_step();
  produce(bootstrap, "clicks", {{"poison", "click"}});
  load_step();
  load_step();
  check_exact({"poison"});
  auto dead = read_topic(bootstrap, "faults-dlq");
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  for (const auto& [k, v] : dead[0].headers)
    CAF_MESSAGE("header " << k << " = " << v);
  CAF_CHECK_EQUAL(dead[0].key, "poison");
  CAF_CHECK_EQUAL(dead[0].headers["partita.error"], "poison cannot be counted");
  CAF_CHECK_EQUAL(dead[0].headers["partita.topic"], "clicks");
}

CAF_TEST_FIXTURE_SCOPE_END()
