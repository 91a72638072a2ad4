// Windows: a windowed count — clicks per key and 100 ms tumbling window of event time (the
// records' timestamps, as the producer stamped them), no grace — against a hand-written
// windowed loop on the same data (baseline.hpp with window_ms): LMDB read-modify-write of each
// record's window, the windows changelog's last value per window, each partition's stream
// time, and the results of the windows the stream time passed, produced in the batch that
// passes them. Partita and the loop alternate, each round on a fresh cluster.

#include "benchmarks/bench.hpp"

#include <cstdio>
#include <iostream>

namespace partita::bench {

nlohmann::json windows(const bench_env& env) {
  const uint64_t records = env.quick ? 100000 : 500000;
  const int keys = 1000;
  const int rounds = env.quick ? 1 : 3;
  const auto size = std::chrono::milliseconds{100};
  std::cout << "windows: count per key and " << size.count() << " ms window, " << records
            << " records over " << keys << " keys, " << env.partitions << " partitions, "
            << rounds << " round(s)\n";
  std::vector<double> p_rate, b_rate;
  for (int r = 0; r < rounds; ++r) {
    embedded_cluster cluster{3};
    bench_env round{cluster, cluster.bootstrap_servers(), env.work, env.out, env.quick,
                    env.partitions};
    auto tag = std::to_string(r);
    auto mine = "bench-wp-" + tag;
    auto theirs = "bench-wb-" + tag;
    cluster.create_topic("clicks", env.partitions, 3);
    for (const auto& group : {mine, theirs})
      for (const char* suffix : {"-table", "-windows", "-results", "-dlq"})
        cluster.create_topic(group + suffix, env.partitions, 3);
    preload(round, "clicks", records, keys);
    group_graph<int64_codec> graph{mine};
    graph.windowed("per-window", window_spec::tumbling(size), int64_codec{}, mine + "-results");
    graph.input("clicks", bytes_codec{}, [](context<int64_codec>& ctx, const std::string&) {
      ctx.update_windows<int64_t>([](std::optional<int64_t> n) { return n.value_or(0) + 1; });
    });
    auto [p, b] = alternate(
      r, [&] { return run_partita(round, graph, records); },
      [&] { return run_hand_written(round, "clicks", theirs, records, {}, size.count()); });
    std::cout << "  round " << r + 1 << ": Partita " << static_cast<int64_t>(p.records_per_s)
              << " rec/s, hand-written " << static_cast<int64_t>(b.records_per_s) << " rec/s"
              << std::endl;
    p_rate.push_back(p.records_per_s);
    b_rate.push_back(b.records_per_s);
  }
  auto ratio = median(p_rate) / median(b_rate);
  std::printf("windows: Partita %.0f rec/s, hand-written %.0f rec/s, ratio %.2f (median of "
              "rounds)\n",
              median(p_rate), median(b_rate), ratio);
  return {{"records", records},
          {"keys", keys},
          {"window_ms", size.count()},
          {"rounds", rounds},
          {"partita_records_per_s", p_rate},
          {"baseline_records_per_s", b_rate},
          {"ratio_median", ratio}};
}

} // namespace partita::bench
