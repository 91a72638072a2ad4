#define CAF_SUITE actors.processor

#include "runtime/processor.hpp"

#include "apps/clickcount_graph.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_producer.hpp"
#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/running.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <numeric>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

constexpr int partitions = 8;

/// A click counter running on a thread of its own.
struct running_processor : running<processor> {
  running_processor(processor_config cfg, const std::string& group)
    : running<processor>(std::move(cfg), apps::clickcount_graph(group, "clicks")) {}
  processor& get() { return **this; }
  processor_stats stats() { return (*this)->stats(); }
};

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-processor-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();

  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    cluster.create_topic("clicks", partitions, 3);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  processor_config config(const std::string& state = "state") {
    return embedded_config(cluster, dir / state);
  }

  /// `n` clicks over `keys` users, round robin: each user gets n / keys.
  void clicks(int n, int keys) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < n; ++i)
      records.emplace_back("user-" + std::to_string(i % keys), "click");
    CAF_REQUIRE_EQUAL(produce(bootstrap, "clicks", records), static_cast<size_t>(n));
  }

  /// The counts in the LMDB stores of a state directory.
  std::map<std::string, int64_t> table(const std::string& state, const std::string& group) {
    return stored_counts(dir / state, group, partitions);
  }

  /// The counts the changelog topic holds (latest value per key).
  std::map<std::string, int64_t> changelog(const std::string& group) {
    return changelog_counts(bootstrap, group);
  }

  /// True when every input record of `group` is committed.
  bool all_committed(const std::string& group) {
    auto offsets = committed(bootstrap, group, "clicks", partitions);
    for (int p = 0; p < partitions; ++p)
      if (offsets[static_cast<size_t>(p)] != watermarks(bootstrap, "clicks", p).second)
        return false;
    return true;
  }

  void check_input_retained() {
    for (int p = 0; p < partitions; ++p)
      CAF_REQUIRE_EQUAL(watermarks(bootstrap, "clicks", p).first, 0);
  }

  static void check_counts(const std::map<std::string, int64_t>& counts, int keys,
                           int64_t each) {
    CAF_CHECK_EQUAL(counts.size(), static_cast<size_t>(keys));
    for (const auto& [key, n] : counts)
      if (n != each)
        CAF_FAIL(key << " counted " << n << " times, expected " << each);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(processor_tests, fixture)

CAF_TEST(every key is counted exactly in the table and the changelog) {
  clicks(4000, 50);
  {
    running_processor proc{config(), "clickcount"};
    CAF_REQUIRE(wait_until([&] { return proc.stats().records >= 4000; }));
    CAF_CHECK_EQUAL(proc.get().get("user-7").value_or(""), "80");
    CAF_CHECK(!proc.get().get("nobody"));
    CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }));
    proc.stop();
    CAF_CHECK_EQUAL(proc.stats().records, 4000u);
  }
  check_input_retained();
  check_counts(table("state", "clickcount"), 50, 80);
  check_counts(changelog("clickcount"), 50, 80);
}

CAF_TEST(a restart with the same state keeps the counts and counts nothing twice) {
  clicks(2000, 50);
  {
    running_processor proc{config(), "clickcount"};
    CAF_REQUIRE(wait_until([&] { return proc.stats().records >= 2000; }));
  }
  clicks(2000, 50);
  {
    running_processor proc{config(), "clickcount"};
    CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }));
    proc.stop();
    CAF_CHECK_EQUAL(proc.stats().records, 2000u); // only the new records
  }
  check_input_retained();
  check_counts(table("state", "clickcount"), 50, 80);
  check_counts(changelog("clickcount"), 50, 80);
}

CAF_TEST(two processes share the partitions and one takes over when the other stops) {
  clicks(4000, 40);
  running_processor a{config("a"), "clickcount"};
  CAF_REQUIRE(wait_until([&] { return a.stats().records >= 4000; }));
  {
    running_processor b{config("b"), "clickcount"};
    CAF_REQUIRE(wait_until([&] {
      auto sa = a.stats();
      auto sb = b.stats();
      return sa.partitions > 0 && sb.partitions > 0 && sa.partitions + sb.partitions == 8 &&
             sa.ready == sa.partitions && sb.ready == sb.partitions;
    }));
    clicks(4000, 40);
    CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }));
    CAF_MESSAGE("a holds " << a.stats().partitions << ", b holds " << b.stats().partitions);
    CAF_CHECK_GREATER(b.stats().records, 0u);
    // b started from an empty state directory: the counts of its partitions were rebuilt from
    // the changelog before it added the new clicks.
    for (int u = 0; u < 40; ++u) {
      auto key = "user-" + std::to_string(u);
      auto count = b.get().get(key);
      if (!count)
        count = a.get().get(key);
      CAF_CHECK_EQUAL(count.value_or("missing"), "200");
    }
    b.stop();
  }
  // b is gone: a takes its partitions back, rebuilding their state from the changelog.
  CAF_REQUIRE(wait_until([&] { return a.stats().partitions == 8 && a.stats().ready == 8; }));
  clicks(4000, 40);
  CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }));
  for (int u = 0; u < 40; u += 7)
    CAF_CHECK_EQUAL(a.get().get("user-" + std::to_string(u)).value_or(""), "300");
  a.stop();
  check_input_retained();
  check_counts(table("a", "clickcount"), 40, 300);
  check_counts(changelog("clickcount"), 40, 300);
}

CAF_TEST(a killed process loses nothing and counts nothing twice) {
  constexpr int total = 60000;
  clicks(total, 100);
  // The mock cluster has no Admin API: a process outside it needs its table topic made for it.
  cluster.create_topic("clickcount-table", partitions, 3);
  cluster.create_topic("clickcount-dlq", partitions, 3);
  auto args = std::vector<std::string>{"--brokers", bootstrap, "--state-dir",
                                       (dir / "state").string(), "--consumer",
                                       "session.timeout.ms=6000"};
  {
    child_process first{PARTITA_CLICKCOUNT_BIN, args, (dir / "first").string()};
    CAF_REQUIRE(wait_until([&] {
      auto c = committed(bootstrap, "clickcount", "clicks", partitions);
      return std::accumulate(c.begin(), c.end(), int64_t{0},
                             [](int64_t s, int64_t o) { return s + std::max<int64_t>(o, 0); }) >
             total / 10;
    }));
    first.signal(SIGKILL);
    CAF_CHECK_EQUAL(first.wait(10000), 128 + SIGKILL);
  }
  auto at_kill = committed(bootstrap, "clickcount", "clicks", partitions);
  int64_t committed_at_kill = 0;
  for (auto o : at_kill)
    committed_at_kill += std::max<int64_t>(o, 0);
  child_process second{PARTITA_CLICKCOUNT_BIN, args, (dir / "second").string()};
  CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }, std::chrono::seconds{120}));
  second.signal(SIGTERM);
  auto code = second.wait(30000);
  if (code != 0)
    CAF_MESSAGE("the second run's log:\n" << second.err());
  CAF_CHECK_EQUAL(code, 0);
  check_input_retained();
  auto counts = changelog("clickcount");
  CAF_CHECK_EQUAL(counts.size(), 100u);
  int64_t sum = 0;
  for (const auto& [key, n] : counts) {
    sum += n;
    if (n < total / 100)
      CAF_FAIL(key << " lost records: counted " << n << " of " << total / 100);
  }
  auto duplicates = sum - total;
  CAF_MESSAGE("committed at kill: " << committed_at_kill << ", duplicates: " << duplicates);
  // The records applied and not acknowledged at the kill are not applied again: their effects
  // are sent again from the store's pending batches.
  CAF_CHECK_EQUAL(duplicates, 0);
  CAF_CHECK_EQUAL(table("state", "clickcount"), counts);
}

CAF_TEST(a changelog written by Partita 0.1 recovers and is continued in the new form) {
  // 0.1 wrote checkpoints as records of their own: every user counted 5 up to input offset -1
  // (the input is new), then an unfinished batch (a value after the last checkpoint).
  cluster.create_topic("clickcount-table", partitions, 3);
  {
    kafka_producer producer{{{"bootstrap.servers", bootstrap}}};
    for (int u = 0; u < 40; ++u)
      producer.produce("clickcount-table", -1, "user-" + std::to_string(u), "5", nullptr);
    for (int p = 0; p < partitions; ++p)
      producer.produce("clickcount-table", p, std::string{"\0partita.applied:clicks", 23}, "-1",
                       nullptr);
    producer.produce("clickcount-table", -1, "user-0", "999", nullptr);
    CAF_REQUIRE(producer.flush(std::chrono::seconds{30}));
  }
  clicks(4000, 40);
  running_processor a{config(), "clickcount"};
  CAF_REQUIRE(wait_until([&] { return all_committed("clickcount"); }));
  a.stop();
  check_counts(table("state", "clickcount"), 40, 105);
  // The new records carry their checkpoints in headers: the only engine keys in the topic are
  // the 0.1 ones, and the table's latest values are the counts.
  std::map<std::string, int64_t> latest;
  for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, "clickcount-table")))
    if (!k.starts_with(std::string_view{"\0partita.", 9}))
      latest[k] = int64_codec{}.decode(v);
  check_counts(latest, 40, 105);
}

CAF_TEST(a punctuation goes over every key and its changes reach the changelog) {
  cluster.create_topic("expiring-table", partitions, 3);
  clicks(400, 40); // 10 each
  // Every 100 ms, keys counted 10 times are done: erased (a tombstone in the changelog).
  group_graph<int64_codec> g{"expiring"};
  g.input("clicks", bytes_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  g.every(std::chrono::milliseconds{100}, [](context<int64_codec>& ctx) {
    if (ctx.value() == 10)
      ctx.erase();
  });
  running<processor> proc{config(), g};
  CAF_REQUIRE(wait_until([&] { return proc->stats().records >= 400; }));
  CAF_REQUIRE(wait_until([&] {
    auto latest = latest_by_key(read_topic(bootstrap, "expiring-table"));
    return latest.size() == 40 &&
           std::all_of(latest.begin(), latest.end(), [](auto& kv) { return kv.second.empty(); });
  }));
  CAF_REQUIRE(wait_until([&] { return all_committed("expiring"); }));
  proc.stop();
  CAF_CHECK(table("state", "expiring").empty());
}

CAF_TEST(topics that are not co-partitioned are a clear error) {
  cluster.create_topic("views", 4, 1);
  group_graph<int64_codec> graph{"joined"};
  auto count = [](auto& ctx, const std::string&) { ctx.set_value(ctx.value().value_or(0) + 1); };
  graph.input("clicks", bytes_codec{}, count).input("views", bytes_codec{}, count);
  processor proc{config(), graph};
  CAF_CHECK_EQUAL(run_error(proc), "topics are not co-partitioned (partition counts: clicks=8 views=4); "
                           "a group's inputs, table and loop need the same partition count");
}

CAF_TEST(an unreachable broker is a clear error) {
  auto cfg = config();
  cfg.brokers = "127.0.0.1:1";
  cfg.cluster = nullptr;
  cfg.startup_timeout = std::chrono::seconds{2};
  processor proc{cfg, apps::clickcount_graph("clickcount", "clicks")};
  std::string message;
  try {
    proc.run();
  } catch (const config_error& e) {
    message = e.what();
  }
  CAF_CHECK(message.rfind("cannot reach Kafka at 127.0.0.1:1", 0) == 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
