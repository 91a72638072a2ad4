// State recovery: a partition's LMDB state rebuilt from its changelog topic.

#include "actors/changelog_format.hpp"
#include "benchmarks/bench.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/view.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <malloc.h>

namespace partita::bench {

namespace {

/// Writes `records` changelog records over `keys` keys to partition 0..partitions-1 of `topic`,
/// as Partita writes a changelog: a writer on every record, a checkpoint on the last record of
/// each partition ("the values before me count"). Returns the bytes of keys and values.
uint64_t write_changelog(const bench_env& env, const std::string& topic, const std::string& input,
                         int partitions, uint64_t records, uint64_t keys) {
  uint64_t bytes = 0;
  kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
  std::vector<header> headers{{writer_header, encode_writer({1, 1})}};
  auto checkpointed = headers;
  checkpointed.push_back({checkpoint_header, encode_checkpoint({input, -1})});
  auto n = static_cast<uint64_t>(partitions);
  for (uint64_t i = 0; i < records; ++i) {
    auto key = "user-" + std::to_string(i % keys);
    auto value = std::to_string(i / keys + 1);
    bytes += key.size() + value.size();
    producer.produce(topic, static_cast<int32_t>(i % n), key, value, nullptr,
                     i + n >= records ? &checkpointed : &headers);
  }
  producer.flush(std::chrono::seconds{120});
  return bytes;
}

/// The embedded cluster keeps at most 5 MB (or 100,000 message sets) per partition and drops
/// the oldest beyond: large tables are spread over this many partitions to stay within it.
constexpr int large_table_partitions = 16;

/// A view of `records` records: from run() to recovered, each round into an empty state
/// directory; the median of the rounds.
nlohmann::json view_recovery(const bench_env& env) {
  const uint64_t records = env.quick ? 200000 : 1000000;
  const int rounds = env.quick ? 1 : 3;
  std::string topic = "bench-view-table";
  const int partitions = large_table_partitions;
  env.cluster.create_topic(topic, partitions, 3);
  write_changelog(env, topic, "bench-view-input", partitions, records, records);
  // The producer of those records left glibc's heap with a million small free chunks; the
  // first large allocation after it merges them all (0.15 s in the view's first broker
  // thread, before it fetched anything). That is the set-up's cost: paid before the clock.
  ::malloc_trim(0);
  std::vector<double> rates;
  for (int round = 0; round < rounds; ++round) {
    view_config cfg;
    cfg.brokers = env.bootstrap;
    cfg.state_dir = env.work / ("view-" + std::to_string(round));
    raw_view v{cfg, topic};
    auto start = clock_type::now();
    std::thread runner{[&] { v.run(); }};
    bool done = v.wait_recovered(std::chrono::minutes{5});
    double secs = seconds_since(start);
    auto applied = v.stats().records;
    v.stop();
    runner.join();
    if (!done)
      throw std::runtime_error("the view did not recover within 5 minutes");
    if (applied != static_cast<int64_t>(records))
      throw std::runtime_error("the view read " + std::to_string(applied) + " of " +
                               std::to_string(records) + " records");
    rates.push_back(static_cast<double>(records) / std::max(secs, 1e-6));
    std::printf("view recovery, round %d: %llu records over %d partitions in %.2f s: %.0f "
                "records/s (run() to recovered, connecting included)\n",
                round + 1, static_cast<unsigned long long>(records), partitions, secs,
                rates.back());
  }
  auto [low, high] = std::minmax_element(rates.begin(), rates.end());
  return {{"records", records}, {"partitions", partitions}, {"rounds", rates},
          {"records_per_s", median(rates)}, {"min_records_per_s", *low},
          {"max_records_per_s", *high}};
}

/// Partitions of `table` a hot standby of `proc` has recovered and follows.
std::size_t standby_running(const processor& proc, const std::string& table) {
  std::size_t n = 0;
  for (const auto& s : proc.metrics().samples()) {
    bool of_table = std::find(s.tags.begin(), s.tags.end(),
                              std::pair<std::string, std::string>{"table", table}) != s.tags.end();
    bool running = std::find(s.tags.begin(), s.tags.end(),
                             std::pair<std::string, std::string>{"state", "running"}) !=
                   s.tags.end();
    n += s.name == "partita_partition_state" && s.value == 1 && of_table && running ? 1 : 0;
  }
  return n;
}

/// Seconds from `run`'s assignment of all `n` partitions to all of them being ready.
double takeover_seconds(clickcount_run& run, std::size_t n) {
  auto deadline = clock_type::now() + std::chrono::minutes{3};
  while (run.stats().partitions < n && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1}); // sampling period
  auto assigned = clock_type::now();
  while (run.stats().ready < n && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (clock_type::now() >= deadline)
    throw std::runtime_error("the takeover did not finish within 3 minutes");
  return seconds_since(assigned);
}

/// A table of `records` keys handed to a member: once without standby (it replays the
/// changelog), once to a hot standby that followed it.
nlohmann::json standby_takeover(const bench_env& env) {
  const uint64_t records = env.quick ? 200000 : 1000000;
  const int partitions = large_table_partitions;
  const auto all = static_cast<std::size_t>(partitions);
  auto prepare = [&](const std::string& group) {
    env.cluster.create_topic(group + "-in", partitions, 3);
    env.cluster.create_topic(group + "-table", partitions, 3);
    write_changelog(env, group + "-table", group + "-in", partitions, records, records);
  };
  auto fast_rebalance = [](processor_config& cfg) {
    cfg.consumer["session.timeout.ms"] = "6000";
  };
  prepare("bench-cold");
  double without = 0;
  {
    clickcount_run cold{env, "bench-cold", "bench-cold-in", env.work / "cold", fast_rebalance};
    without = takeover_seconds(cold, all);
  }
  prepare("bench-hot");
  double with = 0;
  {
    auto owner = std::make_unique<clickcount_run>(env, "bench-hot", "bench-hot-in",
                                                  env.work / "hot-owner", fast_rebalance);
    owner->wait_ready(all, std::chrono::seconds{300});
    clickcount_run standby{env, "bench-hot", "bench-hot-in", env.work / "hot-standby",
                           [&](processor_config& cfg) {
                             fast_rebalance(cfg);
                             cfg.hot_standby = true;
                           }};
    auto deadline = clock_type::now() + std::chrono::minutes{3};
    while (standby_running(standby.proc(), "bench-hot-table") < all &&
           clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{10}); // sampling period
    owner.reset(); // the owner leaves: the standby member is given the partition
    with = takeover_seconds(standby, all);
  }
  std::printf("takeover of a %llu-key table (%d partitions): %.2f s without standby (the "
              "changelog replayed), %.3f s with hot standby (assignment to ready)\n",
              static_cast<unsigned long long>(records), partitions, without, with);
  return {{"records", records}, {"partitions", partitions}, {"without_s", without},
          {"with_s", with}};
}

} // namespace

nlohmann::json recovery(const bench_env& env) {
  const uint64_t records = env.quick ? 100000 : 400000;
  const uint64_t keys = 100000;
  std::string group = "bench-recovery";
  std::string input = group + "-clicks";
  env.cluster.create_topic(input, env.partitions, 3);
  env.cluster.create_topic(group + "-table", env.partitions, 3);
  uint64_t bytes = write_changelog(env, group + "-table", input, env.partitions, records, keys);
  clickcount_run run{env, group, input, env.work / group};
  // From the first partition assigned to every partition ready.
  while (run.stats().partitions == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{2}); // sampling period
  auto secs = run.wait_ready(static_cast<std::size_t>(env.partitions));
  double rate = static_cast<double>(records) / std::max(secs, 1e-6);
  double mb_rate = static_cast<double>(bytes) / 1e6 / std::max(secs, 1e-6);
  std::printf("recovery: %llu changelog records (%.1f MB) over %d partitions rebuilt in %.2f s: "
              "%.0f records/s, %.1f MB/s (first assignment to all partitions ready)\n",
              static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6,
              env.partitions, secs, rate, mb_rate);
  return {{"records", records}, {"bytes", bytes}, {"seconds", secs}, {"records_per_s", rate},
          {"mb_per_s", mb_rate}, {"view", view_recovery(env)}, {"standby", standby_takeover(env)}};
}

} // namespace partita::bench
