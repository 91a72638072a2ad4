#define CAF_SUITE actors.visits

// Visitors (graph.visitor, processor::visit_all) on the embedded cluster: every key visited
// once while input flows and partitions move, and the visits' bad input.

#include "runtime/processor.hpp"

#include "runtime/codec.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/group_members.hpp"
#include "test/support/kafka_client.hpp"
#include "test/support/running.hpp"
#include "test/support/stored_counts.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include <unistd.h>

using namespace partita;
using namespace partita::test;

namespace {

constexpr int partitions = 8;
constexpr int64_t mark = 1000000; // what the visit adds to every count

/// Counts clicks per user; the visitor "add" adds its value to every count, taking `per_key`
/// for each (slow enough for a member to join, or brokers to fail, mid-visit).
group_graph<int64_codec> visited_graph(const std::string& group,
                                       std::chrono::microseconds per_key = {}) {
  group_graph<int64_codec> g{group};
  g.input("clicks", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  g.visitor("add", int64_codec{}, [per_key](context<int64_codec>& ctx, const int64_t& v) {
    if (per_key.count() > 0)
      std::this_thread::sleep_for(per_key);
    ctx.set_value(ctx.value().value_or(0) + v);
  });
  return g;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-visits-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();

  fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    cluster.create_topic("clicks", partitions, 3);
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  processor_config config(const std::string& state) {
    return embedded_config(cluster, dir / state);
  }

  /// One click for each of users [first, first + n).
  void clicks(int first, int n) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = first; i < first + n; ++i)
      records.emplace_back("user-" + std::to_string(i), "click");
    CAF_REQUIRE_EQUAL(produce(bootstrap, "clicks", records), static_cast<size_t>(n));
  }

  bool all_committed(const std::string& group) {
    return test::all_committed(bootstrap, group, "clicks", partitions);
  }
};

/// Keys `proc` visited so far in the partitions it holds.
int64_t visited(const processor& proc, const std::string& group) {
  double sum = 0;
  for (const auto& s : proc.metrics().samples())
    if (s.name == "partita_records_processed_total")
      for (const auto& [n, v] : s.tags)
        if (n == "topic" && v == group + "-visits")
          sum += s.value;
  return static_cast<int64_t>(sum);
}

/// Every user counted `clicks(user)` times plus the visit's mark once.
void check_marked(const std::map<std::string, int64_t>& counts, int users, int twice) {
  CAF_CHECK_EQUAL(counts.size(), static_cast<size_t>(users));
  int wrong = 0;
  for (int u = 0; u < users; ++u) {
    auto i = counts.find("user-" + std::to_string(u));
    int64_t expected = mark + (u < twice ? 2 : 1);
    if (i == counts.end() || i->second != expected) {
      if (++wrong <= 5)
        CAF_FAIL("user-" << u << ": " << (i == counts.end() ? -1 : i->second) << ", expected "
                         << expected);
    }
  }
  CAF_CHECK_EQUAL(wrong, 0);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(visit_tests, fixture)

CAF_TEST(a visit over 100000 keys while input flows and a member joins visits each key once) {
  constexpr int users = 100000;
  constexpr int twice = 20000; // users clicking again during the visit
  clicks(0, users);
  running<processor> a{config("a"), visited_graph("visited", std::chrono::microseconds{100})};
  CAF_REQUIRE(wait_until([&] { return all_committed("visited"); }, std::chrono::seconds{120}));
  auto visit = std::async(std::launch::async, [&] {
    return a->visit_all("add", mark, std::chrono::seconds{240});
  });
  // Mid-visit, a second member takes half the partitions: they finish on it.
  CAF_REQUIRE(wait_until([&] { return visited(*a, "visited") > 5000; }));
  running<processor> b{config("b"), visited_graph("visited", std::chrono::microseconds{100})};
  clicks(0, twice);
  auto result = visit.get();
  CAF_MESSAGE("visited " << result.visited << " keys in " << result.partitions
                         << " partitions; a visited " << visited(*a, "visited") << ", b "
                         << visited(*b, "visited"));
  CAF_CHECK_EQUAL(result.visited, users);
  CAF_CHECK_EQUAL(result.partitions, partitions);
  CAF_CHECK_GREATER(visited(*b, "visited"), 0);
  CAF_REQUIRE(wait_until([&] { return all_committed("visited"); }, std::chrono::seconds{60}));
  // The table holds every change: nothing of the visit nor of the input lost or doubled.
  CAF_REQUIRE(wait_until([&] { return changelog_counts(bootstrap, "visited").size() == size_t{users}; }));
  a.stop();
  b.stop();
  check_marked(changelog_counts(bootstrap, "visited"), users, twice);
  check_marked(newest_stored_counts({dir / "a", dir / "b"}, "visited", partitions),
               users, twice);
}

CAF_TEST(a visit through a broker down and leader moves visits each key once) {
  constexpr int users = 20000;
  constexpr int twice = 5000; // users clicking again while the broker is down
  clicks(0, users);
  // 4 ms a key: each partition visits its 2,500 keys in about 10 s, and the faults land in
  // the middle.
  running<processor> a{config("a"), visited_graph("chaos", std::chrono::milliseconds{4})};
  running<processor> b{config("b"), visited_graph("chaos", std::chrono::milliseconds{4})};
  CAF_REQUIRE(wait_until([&] { return all_committed("chaos"); }, std::chrono::seconds{120}));
  auto visit = std::async(std::launch::async, [&] {
    return a->visit_all("add", mark, std::chrono::seconds{240});
  });
  auto so_far = [&] { return visited(*a, "chaos") + visited(*b, "chaos"); };
  CAF_REQUIRE(wait_until([&] { return so_far() > 2000; }));
  // Mid-visit: broker 2 goes down (its leaderships move), input flows, the visits' and the
  // table's leaders move, and the broker comes back while the visit goes on.
  cluster.broker_down(2);
  clicks(0, twice);
  for (int p = 0; p < partitions; ++p) {
    cluster.move_leader("chaos-visits", p, p % 2 == 0 ? 1 : 3);
    cluster.move_leader("chaos-table", p, p % 2 == 0 ? 3 : 1);
  }
  auto during = so_far();
  CAF_CHECK_LESS(during, users - 2000); // the visit goes on through the faults
  cluster.broker_up(2);
  auto result = visit.get();
  CAF_MESSAGE("visited " << result.visited << " keys; " << during << " when the leaders had "
                         "moved");
  CAF_CHECK_EQUAL(result.visited, users);
  CAF_CHECK_EQUAL(result.partitions, partitions);
  CAF_REQUIRE(wait_until([&] { return all_committed("chaos"); }, std::chrono::seconds{60}));
  CAF_REQUIRE(wait_until(
    [&] { return changelog_counts(bootstrap, "chaos").size() == size_t{users}; }));
  a.stop();
  b.stop();
  check_marked(changelog_counts(bootstrap, "chaos"), users, twice);
  check_marked(newest_stored_counts({dir / "a", dir / "b"}, "chaos", partitions),
               users, twice);
}

CAF_TEST(bad visits are refused with what to do) {
  clicks(0, 100);
  running<processor> a{config("a"), visited_graph("visited")};
  CAF_REQUIRE(wait_until([&] { return all_committed("visited"); }));
  try {
    a->visit_all("nobody", int64_t{1});
    CAF_FAIL("an unknown visitor started");
  } catch (const graph_error& e) {
    CAF_CHECK(std::string{e.what()}.find("no visitor 'nobody'; its visitors: add") !=
              std::string::npos);
  }
  try {
    a->visit_all("add", std::string{"one"});
    CAF_FAIL("a visit with a value of another type started");
  } catch (const graph_error& e) {
    CAF_MESSAGE(e.what());
  }
  try {
    a->visit_all_encoded("add", "not a number", std::chrono::seconds{10}, {});
    CAF_FAIL("a visit with a value its codec cannot decode started");
  } catch (const decode_error& e) {
    CAF_MESSAGE(e.what());
  }
  auto r = a->visit_all("add", mark, std::chrono::seconds{60});
  CAF_CHECK_EQUAL(r.visited, 100);
  try {
    a->visit_all("add", mark, std::chrono::milliseconds{1});
    CAF_FAIL("a visit ended within 1 ms");
  } catch (const visit_error& e) {
    CAF_MESSAGE(e.what());
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
