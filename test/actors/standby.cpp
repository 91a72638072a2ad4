#define CAF_SUITE actors.standby

// Hot standby (docs/tables.md): a member follows the group table's partitions it does not
// own, so a partition handed to it starts without replaying the changelog.

#include "actors/changelog_format.hpp"
#include "apps/clickcount_graph.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/processor.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/running.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

constexpr int partitions = 2;
constexpr int keys = 3000;

/// The value of a figure of `m` with exactly these labels (0 if none).
double figure(const metrics& m, const std::string& name, const metrics::labels& labels) {
  for (const auto& s : m.samples())
    if (s.name == name && s.tags == labels)
      return s.value;
  return 0;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-standby-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();

  fixture() {
    std::filesystem::remove_all(dir);
    cluster.create_topic("clicks", partitions, 3);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  processor_config config(const std::string& state) {
    auto cfg = embedded_config(cluster, dir / state);
    cfg.hot_standby = true;
    return cfg;
  }
  std::map<std::string, int64_t> expected(int records) {
    std::map<std::string, int64_t> out;
    for (int i = 0; i < records; ++i)
      ++out["user-" + std::to_string(i % keys)];
    return out;
  }
  std::map<std::string, int64_t> table_topic() {
    std::map<std::string, int64_t> out;
    for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, "standby-table")))
      out[k] = std::stoll(v);
    return out;
  }
  void send(int from, int to) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = from; i < to; ++i)
      records.emplace_back("user-" + std::to_string(i % keys), "click");
    CAF_REQUIRE_EQUAL(produce(bootstrap, "clicks", records), records.size());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(standby_tests, fixture)

CAF_TEST(a partition handed to a hot standby starts without replaying the changelog) {
  send(0, 60000);
  auto a = std::make_unique<running<processor>>(config("a"),
                                                apps::clickcount_graph("standby", "clicks"));
  CAF_REQUIRE(wait_until([&] { return (*a)->stats().records == 60000; }));
  running<processor> b{config("b"), apps::clickcount_graph("standby", "clicks")};
  CAF_REQUIRE(wait_until([&] { return b->stats().ready == 1 && (*a)->stats().ready == 1; }));
  // The partition b does not own, followed by its standby into the store it would open.
  int32_t theirs = -1;
  CAF_REQUIRE(wait_until([&] {
    for (int32_t p = 0; p < partitions; ++p)
      if (figure(b->metrics(), "partita_partition_state",
                 {{"partition", std::to_string(p)}, {"table", "standby-table"}, {"state", "running"}}) == 1)
        theirs = p;
    return theirs >= 0;
  }));
  send(60000, 80000);
  CAF_REQUIRE(wait_until([&] { return (*a)->stats().records + b->stats().records >= 80000; }));
  auto changelog = watermarks(bootstrap, "standby-table", theirs).second;
  a.reset(); // a leaves: b takes its partition over
  CAF_REQUIRE(wait_until([&] { return b->stats().ready == 2; }));
  auto replayed = figure(b->metrics(), "partita_recovery_records_total",
                         {{"partition", std::to_string(theirs)}});
  CAF_MESSAGE("partition " << theirs << ": " << changelog << " changelog records; the standby "
                           << "left " << replayed << " to replay at the takeover");
  CAF_CHECK_LESS(replayed, changelog / 10);
  auto expected = this->expected(80000);
  CAF_CHECK(table_topic() == expected);
  b.stop();
  CAF_CHECK(stored_counts(dir / "b", "standby", partitions) == expected);
}

CAF_TEST(a standby store drops the batches of an earlier ownership once another member writes) {
  send(0, 20000);
  {
    running<processor> a{config("a"), apps::clickcount_graph("standby", "clicks")};
    CAF_REQUIRE(wait_until([&] { return a->stats().records == 20000; }));
  }
  // As if a had crashed with a batch committed to LMDB but never acknowledged by Kafka.
  for (int32_t p = 0; p < partitions; ++p) {
    partition_store store{store_config{
      partition_store::path_for(dir / "a", "standby", "standby-table", p)}};
    std::string key;
    store.for_each([&](std::string_view k, std::string_view) {
      if (key.empty())
        key = k;
    });
    partition_store::write_batch b{store};
    pending_batch pending;
    pending.seq = 1000;
    pending.topic = "clicks";
    pending.last_offset = 1000000;
    pending.changes.push_back({key, store.get(key), std::optional<std::string>{"999999"}});
    b.put(key, "999999");
    b.put_pending(pending.seq, pending.encode());
    b.commit();
  }
  auto b = std::make_unique<running<processor>>(config("b"),
                                                apps::clickcount_graph("standby", "clicks"));
  CAF_REQUIRE(wait_until([&] { return (*b)->stats().ready == partitions; }));
  send(20000, 25000); // b writes the changelog (from the group's commit on)
  CAF_REQUIRE(wait_until([&] { return (*b)->stats().records == 5000; }));
  {
    // a comes back as a hot standby: b keeps the partitions.
    running<processor> a{config("a"), apps::clickcount_graph("standby", "clicks")};
    CAF_REQUIRE(wait_until([&] {
      int n = 0;
      for (int32_t p = 0; p < partitions; ++p)
        n += figure(a->metrics(), "partita_partition_state",
                    {{"partition", std::to_string(p)}, {"table", "standby-table"},
                     {"state", "running"}}) == 1;
      return n == partitions;
    }));
    send(25000, 30000);
    CAF_REQUIRE(wait_until([&] { return (*b)->stats().records == 10000; }));
    b.reset(); // a takes the partitions over from its standby stores
    CAF_REQUIRE(wait_until([&] { return a->stats().ready == partitions; }));
    send(30000, 32000);
    CAF_REQUIRE(wait_until([&] { return table_topic() == expected(32000); },
                           std::chrono::seconds{60}, std::chrono::milliseconds{500}));
  }
  CAF_CHECK(stored_counts(dir / "a", "standby", partitions) == expected(32000));
}

CAF_TEST_FIXTURE_SCOPE_END()
