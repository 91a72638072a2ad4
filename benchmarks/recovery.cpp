// State recovery: a partition's LMDB state rebuilt from its changelog topic.

#include "actors/changelog_format.hpp"
#include "benchmarks/bench.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/view.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

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

/// A consume-only loop, the recovery's ceiling on this cluster: one consumer reads every
/// partition of `topic` from its start to its end and does nothing with the records. Records/s
/// from assignment to the last record.
double consume_only(const bench_env& env, const std::string& topic, int partitions) {
  char err[512];
  auto* conf = make_kafka_conf({{"bootstrap.servers", env.bootstrap},
                                {"group.id", topic + "-consume-only"},
                                {"enable.auto.commit", "false"},
                                {"fetch.wait.max.ms", "10"},
                                {"queued.min.messages", "200000"},
                                {"log_level", "3"}});
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk{
    rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err), &rd_kafka_destroy};
  if (!rk)
    throw std::runtime_error(err);
  std::map<int32_t, int64_t> high;
  uint64_t total = 0;
  auto* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0;
    int64_t hi = 0;
    if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000) != 0)
      throw std::runtime_error("watermarks of " + topic);
    if (hi > lo) {
      high[p] = hi;
      total += static_cast<uint64_t>(hi - lo);
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = lo;
    }
  }
  auto start = clock_type::now();
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  auto* queue = rd_kafka_queue_get_consumer(rk.get());
  std::vector<rd_kafka_message_t*> msgs(10000);
  auto deadline = start + std::chrono::seconds{120};
  while (!high.empty() && clock_type::now() < deadline) {
    auto n = rd_kafka_consume_batch_queue(queue, 100, msgs.data(), msgs.size());
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[i];
      if (m->err == 0 && high.count(m->partition) > 0 && m->offset + 1 >= high[m->partition])
        high.erase(m->partition);
      rd_kafka_message_destroy(m);
    }
  }
  double secs = seconds_since(start);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk.get());
  if (!high.empty())
    throw std::runtime_error("the consume-only loop did not reach the end of " + topic);
  return static_cast<double>(total) / std::max(secs, 1e-6);
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
  ::malloc_trim(0); // what the producer left (see view_recovery)
  double ceiling = consume_only(env, group + "-table", env.partitions);
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
  std::printf("consume-only loop over the same changelog: %.0f records/s; recovery / "
              "consume-only = %.2f\n",
              ceiling, rate / ceiling);
  return {{"records", records}, {"bytes", bytes}, {"seconds", secs}, {"records_per_s", rate},
          {"consume_only_records_per_s", ceiling}, {"of_consume_only", rate / ceiling},
          {"mb_per_s", mb_rate}, {"view", view_recovery(env)}, {"standby", standby_takeover(env)}};
}

} // namespace partita::bench
