// State recovery: a partition's LMDB state rebuilt from its changelog topic.

#include "actors/changelog_format.hpp"
#include "benchmarks/bench.hpp"
#include "runtime/kafka_producer.hpp"

#include <cstdio>
#include <iostream>

namespace partita::bench {

nlohmann::json recovery(const bench_env& env) {
  const uint64_t records = env.quick ? 100000 : 400000;
  const uint64_t keys = 100000;
  std::string group = "bench-recovery";
  std::string input = group + "-clicks";
  env.cluster.create_topic(input, env.partitions, 3);
  env.cluster.create_topic(group + "-table", env.partitions, 3);
  uint64_t bytes = 0;
  {
    // As Partita writes a changelog: a writer on every record, a checkpoint on the last
    // record of each partition ("the values before me count").
    kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
    std::vector<header> headers{{writer_header, encode_writer({1, 1})}};
    auto checkpointed = headers;
    checkpointed.push_back({checkpoint_header, encode_checkpoint({input, -1})});
    for (uint64_t i = 0; i < records; ++i) {
      auto key = "user-" + std::to_string(i % keys);
      auto value = std::to_string(i / keys + 1);
      bytes += key.size() + value.size();
      auto p = static_cast<int32_t>(i % static_cast<uint64_t>(env.partitions));
      bool last = i + static_cast<uint64_t>(env.partitions) >= records;
      producer.produce(group + "-table", p, key, value, nullptr, last ? &checkpointed : &headers);
    }
    producer.flush(std::chrono::seconds{60});
  }
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
          {"mb_per_s", mb_rate}};
}

} // namespace partita::bench
