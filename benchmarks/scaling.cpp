// Partition scaling: one process holding 8, 64, 256, 1,024 and 4,096 partitions (the quick run
// up to 256). For each: the time
// from the first assignment to every partition ready, the resident memory each idle partition
// actor adds (LMDB's mappings are file-backed and barely touched while idle), the
// throughput of the click count over records produced while it runs, and the rate of a
// producer alone into as many partitions (after the processor is gone).

#include "benchmarks/bench.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace partita::bench {

nlohmann::json scaling(const bench_env& env) {
  using namespace std::chrono_literals;
  std::vector<int> sizes{8, 64, 256};
  if (!env.quick) {
    sizes.push_back(1024);
    sizes.push_back(4096);
  }
  const uint64_t records = env.quick ? 50000 : 200000;
  const int keys = 10000;
  std::cout << "scaling: one process, " << records << " records over " << keys
            << " keys per size\n"
            << "  partitions   assigned->ready s   KiB per idle partition   records/s   "
               "producer alone, records/s\n";
  nlohmann::json out{{"records", records}, {"sizes", nlohmann::json::array()}};
  std::ofstream data{env.out / "scaling.dat"};
  for (int n : sizes) {
    auto group = "bench-scale-" + std::to_string(n);
    auto topic = group + "-clicks";
    for (const auto& t : {topic, group + "-table", group + "-dlq", group + "-produced"})
      env.cluster.create_topic(t, n, 1);
    double ready_s = 0;
    double per_partition = 0;
    double rate = 0;
    {
      auto rss_before = resident_kib();
      clickcount_run run{env, group, topic, env.work / group};
      while (run.stats().partitions == 0)
        std::this_thread::sleep_for(2ms); // sampling period
      ready_s = run.wait_ready(static_cast<std::size_t>(n), 300s);
      std::this_thread::sleep_for(1s); // settle: recovery threads and readers gone
      per_partition = static_cast<double>(resident_kib() - rss_before) / n;
      auto start = clock_type::now();
      preload(env, topic, records, keys);
      while (run.stats().records < records)
        std::this_thread::sleep_for(2ms); // sampling period
      rate = static_cast<double>(records) / seconds_since(start);
    }
    // The baseline: what a producer alone puts into as many partitions, on the same cluster.
    auto produce_start = clock_type::now();
    preload(env, group + "-produced", records, keys);
    auto producer_rate = static_cast<double>(records) / seconds_since(produce_start);
    std::printf("  %10d   %17.2f   %22.0f   %9.0f   %25.0f\n", n, ready_s, per_partition, rate,
                producer_rate);
    std::fflush(stdout);
    data << n << ' ' << ready_s << ' ' << per_partition << ' ' << rate << ' ' << producer_rate
         << '\n';
    out["sizes"].push_back({{"partitions", n},
                            {"assigned_to_ready_s", ready_s},
                            {"kib_per_idle_partition", per_partition},
                            {"records_per_s", rate},
                            {"producer_records_per_s", producer_rate}});
  }
  data.close();
  plot(env, "scaling",
       "set title 'Partitions in one process'\nset logscale x 2\nset xlabel 'partitions'\n"
       "set ylabel 'records/s'\nset y2label 'KiB per idle partition'\nset ytics nomirror\n"
       "set y2tics\nset yrange [0:*]\nset y2range [0:*]\nset grid\n"
       "plot '" + (env.out / "scaling.dat").string() +
         "' using 1:4 with linespoints title 'records/s (produced while running)', "
         "'' using 1:5 with linespoints title 'records/s, a producer alone', "
         "'' using 1:3 axes x1y2 with linespoints title 'KiB per idle partition'\n");
  return out;
}

} // namespace partita::bench
