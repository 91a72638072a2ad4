// Throughput: the click count over pre-loaded records, Partita and the hand-written baseline
// alternating on the same data, for 1,000, 100,000 and 1,000,000 keys; each round on a fresh
// cluster.

#include "benchmarks/baseline.hpp"
#include "apps/clickcount_graph.hpp"
#include "benchmarks/bench.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace partita::bench {

run_result time_run(uint64_t total, const std::function<std::pair<bool, uint64_t>()>& progress) {
  clock_type::time_point first{};
  double cpu_first = 0;
  while (true) {
    auto [assigned, n] = progress();
    auto now = clock_type::now();
    if (assigned && first == clock_type::time_point{}) {
      first = now;
      cpu_first = cpu_seconds();
    }
    if (n >= total) {
      double secs = std::chrono::duration<double>(now - first).count();
      return {static_cast<double>(total) / std::max(secs, 1e-6),
              (cpu_seconds() - cpu_first) / (static_cast<double>(total) / 1e6)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{1}); // sampling period
  }
}

run_result run_partita(const bench_env& env, const group_graph<int64_codec>& graph,
                       uint64_t total) {
  clickcount_run run{env, graph, env.work / graph.definition().group};
  return time_run(total, [&] {
    auto stats = run.stats();
    return std::pair{stats.partitions > 0, stats.records};
  });
}

run_result run_hand_written(const bench_env& env, const std::string& topic,
                            const std::string& group, uint64_t total, const std::string& join,
                            int64_t window_ms) {
  baseline_config cfg;
  cfg.kafka = {{"bootstrap.servers", env.bootstrap}};
  cfg.group = group;
  cfg.topic = topic;
  cfg.state_dir = env.work / group;
  cfg.records = total;
  cfg.window_ms = window_ms;
  std::atomic<uint64_t> fetched{0};
  std::atomic<uint64_t> applied{0};
  std::atomic<bool> assigned{false};
  cfg.assigned = &assigned;
  std::string error;
  std::thread runner{[&] {
    try {
      if (!join.empty()) {
        cfg.join_topic = join;
        cfg.join_partitions = env.partitions;
        cfg.join_dir = env.work / (group + "-join");
      }
      run_baseline(cfg, fetched, applied);
    } catch (const std::exception& e) {
      error = e.what();
      assigned = true; // ends the timing loop; the error is reported below
      applied = total;
    }
  }};
  auto result = time_run(total, [&] { return std::pair{assigned.load(), applied.load()}; });
  runner.join();
  if (!error.empty())
    throw std::runtime_error("baseline run failed: " + error);
  return result;
}

std::pair<run_result, run_result> alternate(int round, const std::function<run_result()>& partita,
                                            const std::function<run_result()>& hand_written) {
  if (round % 2 == 0) {
    auto p = partita();
    return {p, hand_written()};
  }
  auto b = hand_written();
  return {partita(), b};
}

nlohmann::json throughput(const bench_env& env) {
  const uint64_t records = env.quick ? 100000 : 500000;
  const int rounds = env.quick ? 1 : 3;
  std::cout << "throughput: click count, " << records << " records, " << env.partitions
            << " partitions, " << rounds << " round(s), Partita and baseline alternating\n";
  nlohmann::json out{{"records", records}, {"rounds", rounds}, {"by_keys", nlohmann::json::array()}};
  std::string table = "keys      Partita rec/s   baseline rec/s   ratio   Partita CPU s/M   "
                      "baseline CPU s/M\n";
  std::ofstream data{env.out / "throughput.dat"};
  for (int keys : {1000, 100000, 1000000}) {
    std::vector<double> p_rate, b_rate, p_cpu, b_cpu;
    for (int r = 0; r < rounds; ++r) {
      // Each round on a cluster of its own holding only its data: the embedded cluster slows
      // down as topics accumulate, and neither side should pay for the other's leftovers. The
      // side that goes first alternates.
      embedded_cluster cluster{3};
      bench_env round{cluster, cluster.bootstrap_servers(), env.work, env.out, env.quick,
                      env.partitions};
      auto topic = "clicks-" + std::to_string(keys);
      cluster.create_topic(topic, env.partitions, 3);
      preload(round, topic, records, keys);
      auto tag = std::to_string(keys) + "-" + std::to_string(r);
      cluster.create_topic("bench-b-" + tag + "-table", env.partitions, 3);
      auto [p, b] = alternate(
        r, [&] { return run_partita(round, apps::clickcount_graph("bench-p-" + tag, topic), records); },
        [&] { return run_hand_written(round, topic, "bench-b-" + tag, records); });
      std::cout << "  round " << r + 1 << " (" << keys << " keys): Partita "
                << static_cast<int64_t>(p.records_per_s) << " rec/s, baseline "
                << static_cast<int64_t>(b.records_per_s) << " rec/s" << std::endl;
      p_rate.push_back(p.records_per_s);
      b_rate.push_back(b.records_per_s);
      p_cpu.push_back(p.cpu_s_per_million);
      b_cpu.push_back(b.cpu_s_per_million);
    }
    auto ratio = median(p_rate) / median(b_rate);
    char line[160];
    std::snprintf(line, sizeof line, "%-9d %13.0f   %14.0f   %5.2f   %15.2f   %16.2f\n", keys,
                  median(p_rate), median(b_rate), ratio, median(p_cpu), median(b_cpu));
    table += line;
    data << '"' << keys << " keys\" " << median(p_rate) << ' ' << median(b_rate) << '\n';
    out["by_keys"].push_back({{"keys", keys},
                              {"partita_records_per_s", p_rate},
                              {"baseline_records_per_s", b_rate},
                              {"partita_cpu_s_per_million", p_cpu},
                              {"baseline_cpu_s_per_million", b_cpu},
                              {"ratio_median", ratio}});
  }
  data.close();
  std::cout << table;
  plot(env, "throughput",
       "set title 'Click count throughput (median of rounds)'\n"
       "set ylabel 'records/s'\nset style data histograms\nset style fill solid 0.8\n"
       "set boxwidth 0.9\nset yrange [0:*]\nset grid ytics\n"
       "plot '" + (env.out / "throughput.dat").string() +
         "' using 2:xtic(1) title 'Partita', '' using 3 title 'hand-written baseline'\n");
  return out;
}

nlohmann::json join(const bench_env& env) {
  const uint64_t records = env.quick ? 100000 : 500000;
  const int users = 10000;
  const int rounds = env.quick ? 1 : 3;
  std::cout << "join: " << records << " orders over " << users << " users joined with a "
            << users / 2 << "-key table, " << env.partitions << " partitions, " << rounds
            << " round(s)\n";
  std::vector<double> p_rate, b_rate;
  for (int r = 0; r < rounds; ++r) {
    embedded_cluster cluster{3};
    bench_env round{cluster, cluster.bootstrap_servers(), env.work, env.out, env.quick,
                    env.partitions};
    cluster.create_topic("orders", env.partitions, 3);
    cluster.create_topic("members-table", env.partitions, 3);
    preload(round, "orders", records, users);
    preload(round, "members-table", users / 2, users / 2); // half the users are members
    auto tag = std::to_string(r);
    cluster.create_topic("bench-jb-" + tag + "-table", env.partitions, 3);
    // Counts the orders of members: a join read per record.
    group_graph<int64_codec> graph{"bench-jp-" + tag};
    graph.join("members-table", bytes_codec{})
      .input("orders", bytes_codec{}, [](context<int64_codec>& ctx, const std::string&) {
        if (ctx.join<std::string>("members-table"))
          ctx.set_value(ctx.value().value_or(0) + 1);
      });
    auto [p, b] = alternate(
      r, [&] { return run_partita(round, graph, records); },
      [&] { return run_hand_written(round, "orders", "bench-jb-" + tag, records, "members-table"); });
    std::cout << "  round " << r + 1 << ": Partita " << static_cast<int64_t>(p.records_per_s)
              << " rec/s, baseline " << static_cast<int64_t>(b.records_per_s) << " rec/s"
              << std::endl;
    p_rate.push_back(p.records_per_s);
    b_rate.push_back(b.records_per_s);
  }
  auto ratio = median(p_rate) / median(b_rate);
  std::printf("join: Partita %.0f rec/s, baseline %.0f rec/s, ratio %.2f (median of rounds; "
              "from assignment to the last record, the join table's recovery included)\n",
              median(p_rate), median(b_rate), ratio);
  return {{"records", records}, {"rounds", rounds}, {"partita_records_per_s", median(p_rate)},
          {"baseline_records_per_s", median(b_rate)}, {"ratio_median", ratio}};
}

} // namespace partita::bench
