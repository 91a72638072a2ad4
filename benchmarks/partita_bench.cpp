// partita-bench: Partita against a hand-written librdkafka + LMDB baseline, on the embedded
// cluster, in the same run. Every headline figure is a ratio Partita / baseline, so it holds on
// a noisy machine. Benchmarks are not tests: nothing here asserts a speed.

#include "apps/clickcount_graph.hpp"
#include "benchmarks/baseline.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/logger.hpp"
#include "runtime/processor.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <thread>

#include <sys/resource.h>

namespace {

using namespace partita;
using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

/// One timed run: records/s from the first record fetched to the last applied, and the CPU the whole
/// process spent meanwhile (the embedded cluster runs in this process: both sides pay for it).
struct run_result {
  double records_per_s = 0;
  double cpu_s_per_million = 0;
};

/// Times a run from the first record fetched to the last one applied: `progress` answers
/// (fetched, applied).
run_result time_run(uint64_t total,
                    const std::function<std::pair<uint64_t, uint64_t>()>& progress) {
  clock_type::time_point first{};
  double cpu_first = 0;
  while (true) {
    auto [fetched, n] = progress();
    auto now = clock_type::now();
    if (fetched > 0 && first == clock_type::time_point{}) {
      first = now;
      cpu_first = cpu_seconds();
    }
    if (n >= total) {
      double secs = std::chrono::duration<double>(now - first).count();
      return {static_cast<double>(total) / std::max(secs, 1e-6),
              (cpu_seconds() - cpu_first) / (static_cast<double>(total) / 1e6)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2}); // sampling period
  }
}

/// A click-count processor on the embedded cluster, running on a thread of its own until the
/// object goes.
class clickcount_run {
public:
  clickcount_run(const std::string& bootstrap, embedded_cluster& cluster,
                 const std::string& group, const std::string& topic,
                 const std::filesystem::path& state)
    : proc_(config(bootstrap, cluster, state), apps::clickcount_graph(group, topic)) {
    thread_ = std::thread{[this] {
      try {
        proc_.run();
      } catch (const std::exception& e) {
        error_ = e.what();
        failed_ = true;
      }
    }};
  }
  ~clickcount_run() {
    proc_.stop();
    thread_.join();
  }

  /// The processor's figures; throws when its run failed.
  processor_stats stats() const {
    if (failed_)
      throw std::runtime_error("partita run failed: " + error_);
    return proc_.stats();
  }

private:
  static processor_config config(const std::string& bootstrap, embedded_cluster& cluster,
                                 const std::filesystem::path& state) {
    processor_config cfg;
    cfg.brokers = bootstrap;
    cfg.state_dir = state;
    cfg.cluster = &cluster;
    return cfg;
  }

  processor proc_;
  std::string error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

run_result run_partita(const std::string& bootstrap, embedded_cluster& cluster,
                       const std::string& topic, const std::string& group,
                       const std::filesystem::path& state, uint64_t total) {
  clickcount_run run{bootstrap, cluster, group, topic, state};
  return time_run(total, [&] {
    auto stats = run.stats();
    return std::pair{stats.fetched, stats.records};
  });
}

run_result run_hand_written(const std::string& bootstrap, const std::string& topic,
                            const std::string& group, const std::filesystem::path& state,
                            uint64_t total) {
  bench::baseline_config cfg;
  cfg.kafka = {{"bootstrap.servers", bootstrap}};
  cfg.group = group;
  cfg.topic = topic;
  cfg.state_dir = state;
  cfg.records = total;
  std::atomic<uint64_t> fetched{0};
  std::atomic<uint64_t> applied{0};
  std::string error;
  std::thread runner{[&] {
    try {
      bench::run_baseline(cfg, fetched, applied);
    } catch (const std::exception& e) {
      error = e.what();
      fetched = total; // ends the timing loop; the error is reported below
      applied = total;
    }
  }};
  auto result = time_run(total, [&] { return std::pair{fetched.load(), applied.load()}; });
  runner.join();
  if (!error.empty())
    throw std::runtime_error("baseline run failed: " + error);
  return result;
}

/// State recovery: a changelog of `records` values over `keys` keys (ending in a checkpoint per
/// partition), rebuilt into empty LMDB stores; timed from assignment to every partition ready.
double run_recovery(const std::string& bootstrap, embedded_cluster& cluster, int partitions,
                    uint64_t records, int keys, const std::filesystem::path& state) {
  std::string group = "bench-recovery";
  std::string input = group + "-clicks";
  cluster.create_topic(input, partitions, 3);
  cluster.create_topic(group + "-table", partitions, 3);
  {
    kafka_producer producer{{{"bootstrap.servers", bootstrap}}};
    for (uint64_t i = 0; i < records; ++i)
      producer.produce(group + "-table", -1, "user-" + std::to_string(i % keys),
                       std::to_string(i / keys + 1), nullptr);
    for (int p = 0; p < partitions; ++p) // Partita's checkpoint: "the values before me count"
      producer.produce(group + "-table", p, std::string{"\0partita.applied:", 17} + input,
                       "-1", nullptr);
    producer.flush(std::chrono::seconds{60});
  }
  clickcount_run run{bootstrap, cluster, group, input, state};
  clock_type::time_point assigned{};
  while (true) {
    auto stats = run.stats();
    auto now = clock_type::now();
    if (stats.partitions > 0 && assigned == clock_type::time_point{})
      assigned = now;
    if (stats.partitions == static_cast<size_t>(partitions) && stats.ready == stats.partitions) {
      auto secs = std::chrono::duration<double>(now - assigned).count();
      return static_cast<double>(records) / std::max(secs, 1e-6);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2}); // sampling period
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-bench: Partita against a hand-written librdkafka + LMDB baseline on the "
               "embedded cluster, in the same run; reports the ratio."};
  bool quick = false;
  std::string scenario = "all";
  std::string out_dir = "bench-results";
  app.add_flag("--quick", quick, "a short run (fewer records, one round)");
  app.add_option("--scenario", scenario, "run one scenario: throughput, recovery")
    ->check(CLI::IsMember({"all", "throughput", "recovery"}))
    ->capture_default_str();
  app.add_option("--out", out_dir, "directory for results.json")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  partita::configure_logging("warn", "text"); // progress is printed below; engine logs would drown it

  const uint64_t records = quick ? 100000 : 500000;
  const int rounds = quick ? 1 : 3;
  const int partitions = 8;
  std::filesystem::path work = std::filesystem::temp_directory_path() / "partita-bench";
  std::filesystem::remove_all(work);
  nlohmann::json results;
  results["settings"] = {{"records", records},
                         {"partitions", partitions},
                         {"rounds", rounds},
                         {"cluster", "embedded (librdkafka mock), 3 brokers, in-process"},
                         {"consumer", "fetch.wait.max.ms=100 queued.min.messages=100000"},
                         {"producer", "idempotent, linger.ms=5, batch.num.messages=10000"},
                         {"lmdb", "MDB_NOSYNC, one write transaction per fetched batch"}};
  try {
    embedded_cluster cluster{3};
    auto bootstrap = cluster.bootstrap_servers();
    if (scenario == "all" || scenario == "recovery") {
      const uint64_t changelog = quick ? 100000 : 400000;
      auto rate = run_recovery(bootstrap, cluster, partitions, changelog, 100000,
                               work / "recovery");
      std::printf("recovery: %llu changelog records over %d partitions rebuilt at %.0f "
                  "records/s (assignment to all partitions ready)\n",
                  static_cast<unsigned long long>(changelog), partitions, rate);
      results["recovery"] = {{"records", changelog}, {"records_per_s", rate}};
    }
    if (scenario == "all" || scenario == "throughput") {
      std::cout << "throughput: click count, " << records << " records, " << partitions
                << " partitions, " << rounds << " round(s), Partita and baseline alternating\n";
      std::cout << "keys      Partita rec/s   baseline rec/s   ratio   Partita CPU s/M   "
                   "baseline CPU s/M\n";
      for (int keys : {1000, 100000}) {
        auto topic = "clicks-" + std::to_string(keys);
        cluster.create_topic(topic, partitions, 3);
        {
          kafka_producer producer{{{"bootstrap.servers", bootstrap}}};
          for (uint64_t i = 0; i < records; ++i)
            producer.produce(topic, -1, "user-" + std::to_string(i % keys), "click", nullptr);
          producer.flush(std::chrono::seconds{60});
        }
        std::vector<double> p_rate, b_rate, p_cpu, b_cpu;
        for (int r = 0; r < rounds; ++r) {
          auto tag = std::to_string(keys) + "-" + std::to_string(r);
          auto p = run_partita(bootstrap, cluster, topic, "bench-p-" + tag, work / ("p-" + tag),
                               records);
          cluster.create_topic("bench-b-" + tag + "-table", partitions, 3);
          auto b = run_hand_written(bootstrap, topic, "bench-b-" + tag, work / ("b-" + tag),
                                    records);
          std::cerr << "  round " << r + 1 << " (" << keys << " keys): Partita "
                    << static_cast<int64_t>(p.records_per_s) << " rec/s, baseline "
                    << static_cast<int64_t>(b.records_per_s) << " rec/s\n";
          p_rate.push_back(p.records_per_s);
          b_rate.push_back(b.records_per_s);
          p_cpu.push_back(p.cpu_s_per_million);
          b_cpu.push_back(b.cpu_s_per_million);
        }
        auto ratio = median(p_rate) / median(b_rate);
        std::printf("%-9d %13.0f   %14.0f   %5.2f   %15.2f   %16.2f\n", keys, median(p_rate),
                    median(b_rate), ratio, median(p_cpu), median(b_cpu));
        results["throughput"].push_back({{"keys", keys},
                                         {"partita_records_per_s", p_rate},
                                         {"baseline_records_per_s", b_rate},
                                         {"partita_cpu_s_per_million", p_cpu},
                                         {"baseline_cpu_s_per_million", b_cpu},
                                         {"ratio_median", ratio}});
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  std::filesystem::create_directories(out_dir);
  std::ofstream{std::filesystem::path{out_dir} / "results.json"} << results.dump(2) << "\n";
  std::cout << "results: " << (std::filesystem::path{out_dir} / "results.json").string() << "\n";
  std::filesystem::remove_all(work);
  return 0;
}
