#define CAF_SUITE actors.window_faults

// Windowed tables in a group of several processes (partita-time-member --windows: each record
// of `events` counts in its key's one-minute window by its timestamp, and in the table). The
// input's timestamps are out of order; some records come within the grace period, some after
// it (late). Members are killed and restarted, and brokers fail, while the group works through
// the input; crashes are injected between a batch's results and its changelogs, and between
// its window records and the rest of it, each followed by a take-over. Every
// test ends with exact counts, window by window, against the fold of the input topic the test
// computes itself (each partition's stream time in offset order): the windows in the last
// member's LMDB stores and the last record of each window in `w-windows` equal it, every
// window the stream time closed has its result in `w-results` (copies sent again after a crash
// equal it), and the late records are exactly those the fold finds late.
//
// PARTITA_WINDOW_RECORDS sets the size of the input of the first test (default 400,000;
// 1000000 for the long run).

#include "actors/windows.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/cluster_control.hpp"
#include "runtime/embedded_cluster.hpp"
#include "test/support/group_members.hpp"

#include <caf/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <random>
#include <sstream>

using namespace partita;
using namespace partita::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 12;
constexpr int64_t minute = 60'000;
constexpr int64_t grace = 10'000;
constexpr int64_t base = 1'700'000'040'000; // a minute's start

using window_key = std::pair<std::string, int64_t>; // user key, window start

/// What the input topic says the windowed table holds.
struct fold {
  std::map<window_key, int64_t> counts;
  std::set<window_key> closed; // by its partition's stream time at the end
  int64_t late = 0;
  int64_t records = 0;
};

fold fold_of(const std::vector<kafka_record>& input) {
  std::vector<const kafka_record*> sorted;
  for (const auto& r : input)
    sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return std::tie(a->partition, a->offset) < std::tie(b->partition, b->offset);
  });
  fold out;
  std::map<int32_t, int64_t> stream_time;
  std::map<window_key, int32_t> partition_of;
  for (const auto* r : sorted) {
    ++out.records;
    auto& st = stream_time.try_emplace(r->partition, std::numeric_limits<int64_t>::min())
                 .first->second;
    st = std::max(st, r->timestamp);
    int64_t start = r->timestamp - r->timestamp % minute;
    if (start + minute + grace <= st) {
      ++out.late;
      continue;
    }
    window_key w{r->key, start};
    ++out.counts[w];
    partition_of[w] = r->partition;
  }
  for (const auto& [w, p] : partition_of)
    if (w.second + minute + grace <= stream_time[p])
      out.closed.insert(w);
  return out;
}

struct fixture : group_lab {
  fixture()
      : group_lab("window-test",
                  {"events", "w-table", "w-windows", "w-timers", "w-results", "w-dlq"},
                  partitions) {}

  void start(member& m, std::vector<std::string> env = {}, bool timers = false) {
    std::vector<std::string> flags{"--windows", "--window-ms", std::to_string(minute),
                                   "--grace-ms", std::to_string(grace)};
    if (!timers)
      flags.push_back("--no-timers");
    launch(m, flags, env);
  }

  /// Starts `m` as a partita-time-member of group w with `flags`.
  void launch(member& m, const std::vector<std::string>& flags,
              const std::vector<std::string>& env) {
    auto args = member_args(m, bootstrap, "w");
    args.insert(args.end(), flags.begin(), flags.end());
    m.start(PARTITA_TIME_MEMBER_BIN, args, dir, env);
  }

  /// `n` records over 1,000 keys, 3 ms apart in event time, a fifth of them up to 20 s early
  /// (within the grace period or late), one in a hundred up to 5 minutes early (late); then
  /// every key once two hours later, which closes every window before.
  std::size_t produce_input(int n) {
    std::mt19937_64 rng{42};
    std::vector<timed_record> records;
    records.reserve(static_cast<size_t>(n) + 1000);
    for (int i = 0; i < n; ++i) {
      int64_t ts = base + int64_t{i} * 3;
      auto dice = rng() % 100;
      if (dice < 1)
        ts -= static_cast<int64_t>(rng() % (5 * minute));
      else if (dice < 21)
        ts -= static_cast<int64_t>(rng() % 20'000);
      records.push_back({"user-" + std::to_string(rng() % 1000), "e", ts});
    }
    int64_t later = base + int64_t{n} * 3 + 2 * 60 * minute;
    for (int k = 0; k < 1000; ++k)
      records.push_back({"user-" + std::to_string(k), "e", later});
    return produce_timed(bootstrap, "events", records);
  }

  /// Lets `last` alone take every partition and commit every record, stops it, and checks its
  /// stores, `w-windows` and `w-results` against the fold of the input.
  void check_exact(member& last) {
    for (auto& m : members)
      if (&m != &last && m.proc && m.proc->running())
        m.end(SIGTERM);
    if (!last.proc || !last.proc->running())
      start(last);
    CAF_REQUIRE(wait_until([&] { return last.running_partitions() == partitions; }, 120s, 200ms));
    CAF_REQUIRE(wait_until([&] { return all_committed(bootstrap, "w", "events", partitions); },
                           180s, 200ms));
    auto want = fold_of(read_topic(bootstrap, "events"));
    check_query(last, want, "user-7");
    last.end(SIGTERM);
    CAF_MESSAGE("input: " << want.records << " records, " << want.counts.size() << " windows ("
                          << want.closed.size() << " closed), " << want.late << " late");
    CAF_CHECK_GREATER(want.late, 0);
    CAF_CHECK_GREATER(want.closed.size(), 0u);
    // The last member's stores.
    std::map<window_key, int64_t> stored;
    for (int p = 0; p < partitions; ++p) {
      partition_store store{store_config{partition_store::path_for(last.state, "w", "w-table", p)}};
      store.scan_side(side::windows, {}, [&](std::string_view k, std::string_view v) {
        if (auto w = decode_window_key(k))
          stored[{std::string{w->second}, w->first}] = std::stoll(std::string{v});
        return true;
      });
    }
    check_same("LMDB", stored, want.counts);
    // The changelog's last record of each window.
    std::map<window_key, int64_t> logged;
    for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, "w-windows")))
      if (auto w = decode_window_key(k); w && !v.empty())
        logged[{std::string{w->second}, w->first}] = std::stoll(v);
    check_same("w-windows", logged, want.counts);
    // Each closed window's result, and no other.
    std::map<window_key, int64_t> results;
    int64_t copies = 0;
    int64_t differing = 0;
    for (const auto& r : read_topic(bootstrap, "w-results")) {
      window_key w{r.key, std::stoll(r.headers.at("partita.window.start"))};
      auto n = std::stoll(r.value);
      auto [at, fresh] = results.emplace(w, n);
      if (!fresh) {
        ++copies;
        differing += at->second != n;
      }
    }
    std::map<window_key, int64_t> closed;
    for (const auto& w : want.closed)
      closed[w] = want.counts.at(w);
    check_same("w-results", results, closed);
    CAF_MESSAGE(copies << " results sent again after a crash");
    CAF_CHECK_EQUAL(differing, 0);
    int64_t counted = 0;
    for (const auto& [w, n] : stored)
      counted += n;
    CAF_CHECK_EQUAL(counted + want.late, want.records); // the late ones counted apart
  }

  /// The sum of a metric's samples in a member's /metrics.
  static double metric_sum(const member& m, const std::string& name) {
    httplib::Client http{"127.0.0.1", m.port};
    auto res = http.Get("/metrics");
    if (!res || res->status != 200)
      return 0;
    std::istringstream lines{res->body};
    double sum = 0;
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with(name + "{") || line.starts_with(name + " "))
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
  }

  /// /tables/per-window/<key> lists the key's windows, oldest first, as the fold has them.
  static void check_query(const member& m, const fold& want, const std::string& key) {
    httplib::Client http{"127.0.0.1", m.port};
    auto res = http.Get("/tables/per-window/" + key);
    CAF_REQUIRE(res);
    CAF_REQUIRE_EQUAL(res->status, 200);
    auto body = nlohmann::json::parse(res->body);
    std::vector<std::tuple<int64_t, int64_t, bool>> got;
    for (const auto& w : body.at("windows"))
      got.emplace_back(w.at("start").get<int64_t>(), w.at("value").get<int64_t>(),
                       w.at("closed").get<bool>());
    std::vector<std::tuple<int64_t, int64_t, bool>> expected;
    for (const auto& [w, n] : want.counts)
      if (w.first == key)
        expected.emplace_back(w.second, n, want.closed.contains(w));
    CAF_CHECK(got == expected);
    CAF_CHECK_EQUAL(got.size(), expected.size());
    CAF_CHECK_EQUAL(http.Get("/tables/per-window/nobody")->status, 404);
  }

  static void check_same(const char* where, const std::map<window_key, int64_t>& got,
                         const std::map<window_key, int64_t>& want) {
    int64_t wrong = 0;
    for (const auto& [w, n] : want) {
      auto i = got.find(w);
      auto have = i == got.end() ? -1 : i->second;
      if (have != n && wrong++ < 5)
        CAF_MESSAGE(where << ": " << w.first << " @" << w.second << " holds " << have
                          << ", expected " << n);
    }
    CAF_CHECK_EQUAL(wrong, 0);
    CAF_CHECK_EQUAL(got.size(), want.size()); // no window the input does not make
  }
};

int window_records() {
  const char* text = std::getenv("PARTITA_WINDOW_RECORDS");
  return text ? std::max(10'000, std::atoi(text)) : 400'000;
}

/// Starts `m` to crash at `point` (PARTITA_CRASH_AT) and waits until it does.
void crash_at(fixture& f, member& m, const std::string& point) {
  f.start(m, {"PARTITA_CRASH_AT=" + point}, true);
  CAF_REQUIRE_EQUAL(m.proc->wait(90000), 86);
  CAF_CHECK(m.log().find("crashing at " + point.substr(0, point.find(':'))) !=
            std::string::npos);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(window_fault_tests, fixture)

CAF_TEST(a windowed count of out of order records through kills and broker faults is exact) {
  auto n = window_records();
  CAF_REQUIRE_EQUAL(produce_input(n), static_cast<size_t>(n) + 1000);
  auto& a = members[0];
  auto& b = members[1];
  start(a);
  start(b);
  auto done = [&] { return committed_total(bootstrap, "w", "events", partitions); };
  CAF_REQUIRE(wait_until([&] { return done() > n / 5; }, 120s, 50ms));
  // a has processed part of its partitions: its /metrics count the late updates it skipped.
  CAF_CHECK(wait_until([&] { return metric_sum(a, "partita_window_late_total") > 0; }, 30s,
                       100ms));
  CAF_MESSAGE(start_chaos(cluster, 11, 12s, "crash,restart,leader"));
  b.end(SIGKILL); // its partitions move to a, which reads what b wrote
  CAF_REQUIRE(wait_until([&] { return done() > n / 2; }, 120s, 50ms));
  start(b); // and some move back, to b's stale stores
  CAF_REQUIRE(wait_until([&] { return done() > 3 * n / 4; }, 120s, 50ms));
  a.end(SIGKILL);
  CAF_REQUIRE(wait_until([&] { return cluster.pending() == 0; }, 60s, 100ms));
  check_exact(a);
}

CAF_TEST(crashes between the results and the changelogs of batches lose nothing) {
  // a crashes after the results of a batch that closes windows, before its changelogs; b takes
  // every partition on an empty store (reading what a left) and crashes between a batch's
  // window records and its timer records; a comes back on its own store, which b's records
  // made stale, and takes everything.
  CAF_REQUIRE_EQUAL(produce_input(20'000), size_t{21'000});
  auto& a = members[0];
  auto& b = members[1];
  crash_at(*this, a, "after-outputs:1");
  crash_at(*this, b, "after-windows:3");
  start(a, {}, true);
  check_exact(a);
}

CAF_TEST(a crash between the outputs and the table records of a batch loses no output) {
  // Batches without side tables, whose records each count in the table and echo their key: a
  // crashes after a batch's outputs are acknowledged, before its table records went; b takes
  // every partition on an empty store and must process that batch again.
  CAF_REQUIRE_EQUAL(produce_input(20'000), size_t{21'000});
  auto& a = members[0];
  auto& b = members[1];
  const std::vector<std::string> echo{"--echo", "--no-timers"};
  launch(a, echo, {"PARTITA_CRASH_AT=after-outputs:2"});
  CAF_REQUIRE_EQUAL(a.proc->wait(90000), 86);
  launch(b, echo, {});
  CAF_REQUIRE(wait_until([&] { return b.running_partitions() == partitions; }, 120s, 200ms));
  CAF_REQUIRE(wait_until([&] { return all_committed(bootstrap, "w", "events", partitions); },
                         180s, 200ms));
  b.end(SIGTERM);
  auto input = read_topic(bootstrap, "events");
  std::map<std::string, int64_t> want;
  std::set<std::string> sources;
  for (const auto& r : input) {
    ++want[r.key];
    sources.insert("events/" + std::to_string(r.partition) + "/" + std::to_string(r.offset));
  }
  // Every record's output, at least once.
  std::size_t missing = sources.size();
  for (const auto& r : read_topic(bootstrap, "w-results"))
    missing -= sources.erase(r.headers.at("partita.source"));
  CAF_CHECK_EQUAL(missing, 0u);
  CAF_CHECK_EQUAL(sources.size(), 0u);
  // The table topic and b's stores: each key counted once per record.
  int64_t wrong = 0;
  auto table = latest_by_key(read_topic(bootstrap, "w-table"));
  for (const auto& [key, n] : want)
    wrong += table[key] != std::to_string(n) + "/0";
  for (int p = 0; p < partitions; ++p) {
    partition_store store{store_config{partition_store::path_for(b.state, "w", "w-table", p)}};
    store.scan({}, {}, [&](std::string_view k, std::string_view v) {
      auto i = want.find(std::string{k});
      wrong += i == want.end() || v != std::to_string(i->second) + "/0";
      return true;
    });
  }
  CAF_CHECK_EQUAL(wrong, 0);
  CAF_CHECK_EQUAL(table.size(), want.size());
}

CAF_TEST_FIXTURE_SCOPE_END()
