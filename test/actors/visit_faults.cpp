#define CAF_SUITE actors.visit_faults

// A visit (graph.visitor) in a group of several processes (partita-time-member --visitor:
// visitor "fire" adds its value to each key's fired count in "<set>/<fired>") while input
// flows: a member crashes between a visit chunk's progress records and its table records
// (injected, PARTITA_CRASH_AT); the other takes its partitions over and finishes the visit;
// then it comes back on its stale store and takes partitions back. Every key is visited
// exactly once — each key's value in the table topic and in LMDB is "<n>/1" for its n records
// in the input — and the visit reports every key.

#include "actors/partition_meta.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/group_members.hpp"

#include <caf/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 6;
constexpr int keys = 2000;

struct fixture : group_lab {
  steady_load load{bootstrap, "events", keys};

  fixture()
      : group_lab("visit-test", {"events", "v-table", "v-timers", "v-visits", "v-dlq"},
                  partitions) {}
  ~fixture() { load.stop(); }

  void start(member& m, std::vector<std::string> env = {}) {
    auto args = member_args(m, bootstrap, "v");
    args.insert(args.end(), {"--no-timers", "--visitor", "--visit-delay-us", "200"});
    m.start(PARTITA_TIME_MEMBER_BIN, args, dir, env);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(visit_fault_tests, fixture)

CAF_TEST(a member crashed mid visit comes back and every key is visited exactly once) {
  auto& a = members[0];
  auto& b = members[1];
  // a crashes once its eighth side batch is acknowledged — its three owner markers and three
  // visit starts come first: a chunk's progress records — before that chunk's table records
  // go. (A visitor graph's checkpoints once carried no batch number, and b then counted such
  // progress without its table records: keys skipped.) PARTITA_VISIT_CRASH_AT sets another
  // point, for example after-visit-chunk:3 (after a chunk's LMDB commit).
  const char* at = std::getenv("PARTITA_VISIT_CRASH_AT");
  start(a, {std::string{"PARTITA_CRASH_AT="} + (at ? at : "after-timers:8")});
  start(b);
  load.start();
  // Every key is in the table before the visit starts (the load cycles through the keys).
  CAF_REQUIRE(wait_until(
    [&] { return committed_total(bootstrap, "v", "events", partitions) >= 2 * keys; }, 120s,
    100ms));
  CAF_REQUIRE(wait_until(
    [&] { return a.running_partitions() + b.running_partitions() == partitions; }, 60s, 100ms));
  httplib::Client http{"127.0.0.1", b.port};
  auto started = http.Post("/visits/fire", "1", "application/octet-stream");
  CAF_REQUIRE(started);
  CAF_REQUIRE_EQUAL(started->status, 202);
  auto id = nlohmann::json::parse(started->body)["id"].get<std::string>();
  CAF_REQUIRE_EQUAL(a.proc->wait(90000), 86);
  CAF_CHECK(a.log().find("PARTITA_CRASH_AT: crashing at") != std::string::npos);
  // b takes a's partitions over from the changelogs and finishes the visit there.
  nlohmann::json status;
  CAF_CHECK(wait_until(
    [&] {
      auto res = http.Get("/visits/" + id);
      status = res && res->status == 200 ? nlohmann::json::parse(res->body) : nlohmann::json{};
      return status.value("state", "") != "running" && !status.empty();
    },
    120s, 200ms));
  CAF_MESSAGE(status.dump());
  CAF_CHECK_EQUAL(status.value("state", ""), "done");
  CAF_CHECK_EQUAL(status.value("visited", -1), keys);
  CAF_CHECK_EQUAL(status.value("partitions_done", -1), partitions);
  // a comes back on its store, which b's records made stale, and takes partitions back.
  start(a);
  CAF_REQUIRE(wait_until([&] { return a.running_partitions() > 0; }, 120s, 200ms));
  load.stop();
  CAF_REQUIRE(wait_until([&] { return all_committed(bootstrap, "v", "events", partitions); },
                         180s, 200ms));
  // Both stop at once (neither takes the other's partitions): each partition's latest state
  // is in the store of its last owner, the one that applied the most of `events`.
  a.proc->signal(SIGTERM);
  b.proc->signal(SIGTERM);
  CAF_CHECK_EQUAL(a.proc->wait(40000), 0);
  CAF_CHECK_EQUAL(b.proc->wait(40000), 0);
  std::map<std::string, std::string> want;
  for (const auto& [k, n] : count_by_key(read_topic(bootstrap, "events")))
    want[k] = std::to_string(n) + "/1";
  CAF_REQUIRE_EQUAL(want.size(), static_cast<size_t>(keys));
  auto changelog = read_topic(bootstrap, "v-table");
  auto table = latest_by_key(changelog);
  int64_t wrong = 0;
  std::string first_wrong;
  for (const auto& [k, v] : want)
    if (table[k] != v && wrong++ < 5) {
      CAF_MESSAGE("table topic: " << k << " = " << table[k] << ", not " << v);
      if (first_wrong.empty())
        first_wrong = k;
    }
  CAF_CHECK_EQUAL(wrong, 0);
  if (!first_wrong.empty()) {
    // What the changelogs hold for that key's partition: its records of the key, and the
    // visit's progress records, with their headers.
    auto show = [](const kafka_record& r) {
      std::string h;
      for (const auto& [name, value] : r.headers)
        h += " " + name + "=" + value;
      return std::to_string(r.partition) + "@" + std::to_string(r.offset) + h;
    };
    int32_t p = -1;
    for (const auto& r : changelog)
      if (r.key == first_wrong) {
        p = r.partition;
        CAF_MESSAGE("v-table " << show(r) << " " << r.key << " = " << r.value);
      }
    for (const auto& r : read_topic(bootstrap, "v-timers"))
      if (r.partition == p)
        CAF_MESSAGE("v-timers " << show(r) << " value " << r.value.size() << " bytes");
  }
  CAF_CHECK_EQUAL(table.size(), want.size());
  int64_t stored = 0;
  wrong = 0;
  for (int p = 0; p < partitions; ++p) {
    std::unique_ptr<partition_store> last;
    int64_t most = -2;
    for (auto* m : {&a, &b}) {
      auto path = partition_store::path_for(m->state, "v", "v-table", p);
      if (!std::filesystem::exists(path))
        continue;
      auto store = std::make_unique<partition_store>(store_config{path});
      if (auto n = store->meta(meta::applied("events")).value_or(-1); n > most) {
        most = n;
        last = std::move(store);
      }
    }
    CAF_REQUIRE(last != nullptr);
    last->scan({}, {}, [&](std::string_view k, std::string_view v) {
      ++stored;
      auto i = want.find(std::string{k});
      if ((i == want.end() || v != i->second) && wrong++ < 5)
        CAF_MESSAGE("LMDB: " << k << " = " << v);
      return true;
    });
  }
  CAF_CHECK_EQUAL(wrong, 0);
  CAF_CHECK_EQUAL(stored, keys);
}

CAF_TEST_FIXTURE_SCOPE_END()
