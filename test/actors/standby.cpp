#define CAF_SUITE actors.standby

// Hot standby (docs/tables.md): a member follows the group table's partitions it does not
// own, so a partition handed to it starts without replaying the changelog.

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
  std::map<std::string, int64_t> expected;
  for (int i = 0; i < 80000; ++i)
    ++expected["user-" + std::to_string(i % keys)];
  auto table = latest_by_key(read_topic(bootstrap, "standby-table"));
  std::map<std::string, int64_t> in_topic;
  for (const auto& [k, v] : table)
    in_topic[k] = std::stoll(v);
  CAF_CHECK(in_topic == expected);
  b.stop();
  CAF_CHECK(stored_counts(dir / "b", "standby", partitions) == expected);
}

CAF_TEST_FIXTURE_SCOPE_END()
