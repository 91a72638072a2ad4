// partita-bench: the benchmark suite. Runs on the embedded cluster, in-process; the throughput
// scenario runs Partita and a hand-written librdkafka + LMDB baseline alternating on the same
// data and reports the ratio, so it holds on a noisy machine. Benchmarks are not tests: nothing
// here asserts a speed; the targets are reported next to the figures.

#include "benchmarks/bench.hpp"
#include "runtime/logger.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

using namespace partita::bench;

namespace {

const std::vector<std::string> scenarios{"throughput", "join",    "latency",    "broker-failure",
                                         "recovery",   "scaling", "supervision", "timers",
                                         "windows"};

/// One headline figure with its target.
struct headline {
  std::string figure;
  std::string value;
  std::string target;
  std::optional<bool> met; // none: reported, no target
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-bench: the benchmark suite on the embedded cluster. Writes results.json, "
               "plot data and PNG plots (gnuplot) to --out."};
  bool quick = false;
  std::vector<std::string> chosen;
  std::string out_dir = "bench-results";
  app.add_flag("--quick", quick, "a short run: fewer records, one round, fewer sizes");
  app.add_option("--scenario", chosen, "run only this scenario (repeatable)")
    ->check(CLI::IsMember(scenarios));
  app.add_option("--out", out_dir, "directory for results.json and the plots")
    ->capture_default_str();
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "level of the engine's logs on stderr")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (chosen.empty())
    chosen = scenarios;
  auto wanted = [&](const std::string& s) {
    return std::find(chosen.begin(), chosen.end(), s) != chosen.end();
  };
  partita::configure_logging(log_level, "text"); // progress is printed on stdout

  std::filesystem::path work = std::filesystem::temp_directory_path() / "partita-bench";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(out_dir);
  nlohmann::json results;
  results["settings"] = {
    {"quick", quick},
    {"cluster", "embedded (librdkafka mock), 3 brokers, replication factor 3, in this process"},
    {"consumer",
     "fetch.wait.max.ms=100 queued.min.messages=1000000 (Partita's defaults, both sides; "
     "Partita's group consumer waits 1 ms on the embedded cluster, the latency scenario's "
     "baseline 5 ms)"},
    {"producer", "idempotent, linger.ms=5, batch.num.messages=10000; Partita's producer "
                 "sends at once below 200 unacknowledged records (the baseline always lingers)"},
    {"lmdb", "MDB_NOSYNC, one write transaction per fetched batch"},
    {"machine_cores", std::thread::hardware_concurrency()}};
  std::vector<headline> headlines;
  auto started = clock_type::now();
  try {
    partita::embedded_cluster cluster{3};
    bench_env env{cluster, cluster.bootstrap_servers(), work, out_dir, quick, 8};
    if (wanted("throughput")) {
      auto r = throughput(env);
      results["throughput"] = r;
      for (const auto& k : r["by_keys"]) {
        auto keys = k["keys"].get<int>();
        auto ratio = k["ratio_median"].get<double>();
        headlines.push_back({fmt::format("throughput ratio, {} keys", keys),
                             fmt::format("{:.2f}x baseline", ratio), ">= 1.0x", ratio >= 1.0});
        if (keys < 100000)
          continue;
        auto cpu = median(k["partita_cpu_s_per_million"].get<std::vector<double>>()) /
                   median(k["baseline_cpu_s_per_million"].get<std::vector<double>>());
        headlines.push_back({fmt::format("CPU per record, {} keys", keys),
                             fmt::format("{:.2f}x baseline", cpu), "<= 1.1x", cpu <= 1.1});
      }
    }
    if (wanted("join")) {
      auto r = join(env);
      results["join"] = r;
      auto ratio = r["ratio_median"].get<double>();
      headlines.push_back({"join throughput ratio", fmt::format("{:.2f}x baseline", ratio),
                           ">= 0.8x", ratio >= 0.8});
    }
    if (wanted("latency")) {
      auto r = latency(env);
      results["latency"] = r;
      for (const auto& rate : r["rates"])
        if (rate["partita_consumer"] == "defaults") {
          auto p50 = rate["partita"]["p50_ms_median"].get<double>();
          auto p99 = rate["partita"]["p99_ms_median"].get<double>();
          headlines.push_back({fmt::format("p50 / p99 latency at {:.0f} records/s, defaults",
                                           rate["offered_records_per_s"].get<double>()),
                               fmt::format("{:.1f} / {:.1f} ms", p50, p99), "<= 5 / 15 ms",
                               p50 <= 5 && p99 <= 15});
        } else if (rate["load"] == 0.5) {
          auto p99 = rate["partita"]["p99_ms_median"].get<double>();
          auto ratio = p99 / std::max(1e-9, rate["baseline"]["p99_ms_median"].get<double>());
          headlines.push_back({"p99 latency at half the sustained maximum",
                               fmt::format("{:.1f} ms ({:.2f}x baseline)", p99, ratio),
                               "<= baseline", ratio <= 1});
        }
    }
    if (wanted("broker-failure")) {
      auto r = broker_failure(env);
      results["broker_failure"] = r;
      headlines.push_back({"records lost / duplicated through broker failures",
                           fmt::format("{} / {}", r["lost"].get<int64_t>(),
                                       r["duplicated"].get<int64_t>()),
                           "0 / 0", r["lost"] == 0 && r["duplicated"] == 0});
      auto resume = r["worst_resume_s"].get<double>();
      headlines.push_back({"processing resumed after a leader is reachable again",
                           fmt::format("{:.2f} s", resume), "< 1 s", resume < 1});
      auto coordinator = r["worst_coordinator_crash_s"].get<double>();
      headlines.push_back({"processing resumed after the coordinator's broker failed",
                           fmt::format("{:.2f} s", coordinator), "-", std::nullopt});
    }
    if (wanted("recovery")) {
      auto r = recovery(env);
      results["recovery"] = r;
      auto rate = r["records_per_s"].get<double>();
      headlines.push_back({"state recovery", fmt::format("{:.0f} records/s", rate),
                           ">= 2M records/s", rate >= 2e6});
      auto of_ceiling = r["of_consume_only"].get<double>();
      headlines.push_back({"state recovery / a consume-only loop on the same cluster",
                           fmt::format("{:.2f}x", of_ceiling), ">= 0.8x", of_ceiling >= 0.8});
      auto view_rate = r["view"]["records_per_s"].get<double>();
      headlines.push_back({"view recovery (median)", fmt::format("{:.0f} records/s", view_rate),
                           ">= 1M records/s", view_rate >= 1e6});
      headlines.push_back({fmt::format("takeover of a {}-record table, without / with standby",
                                       r["standby"]["records"].get<uint64_t>()),
                           fmt::format("{:.2f} s / {:.3f} s",
                                       r["standby"]["without_s"].get<double>(),
                                       r["standby"]["with_s"].get<double>()),
                           "with < 1 s", r["standby"]["with_s"].get<double>() < 1});
    }
    if (wanted("scaling")) {
      auto r = scaling(env);
      results["scaling"] = r;
      const auto& largest = r["sizes"].back();
      auto n = largest["partitions"].get<int>();
      auto ready = largest["assigned_to_ready_s"].get<double>();
      auto kib = largest["kib_per_idle_partition"].get<double>();
      headlines.push_back({fmt::format("assignment to ready, {} partitions", n),
                           fmt::format("{:.1f} s", ready), n >= 4096 ? "<= 10 s" : "-",
                           n >= 4096 ? std::optional<bool>{ready <= 10} : std::nullopt});
      headlines.push_back({fmt::format("resident memory per idle partition ({} partitions)", n),
                           fmt::format("{:.0f} KiB", kib), "<= 256 KiB", kib <= 256});
      for (const auto& s : r["sizes"])
        if (s["partitions"].get<int>() == 64 && n > 64) {
          auto ratio = largest["records_per_s"].get<double>() / s["records_per_s"].get<double>();
          headlines.push_back({fmt::format("throughput at {} partitions / at 64", n),
                               fmt::format("{:.2f}x", ratio), ">= 0.8x", ratio >= 0.8});
          auto alone = largest["producer_records_per_s"].get<double>() /
                       s["producer_records_per_s"].get<double>();
          headlines.push_back({fmt::format("a producer alone at {} partitions / at 64", n),
                               fmt::format("{:.2f}x", alone), "-", std::nullopt});
        }
    }
    if (wanted("supervision")) {
      auto r = supervision(env);
      results["supervision"] = r;
      headlines.push_back({"partition restart, failure to committing again beyond backoff",
                           fmt::format("{:.0f} ms", r["restart_beyond_backoff_median_s"].get<double>() * 1000),
                           "-", std::nullopt});
    }
    if (wanted("timers")) {
      auto r = timers(env);
      results["timers"] = r;
      headlines.push_back({fmt::format("timers fired, {} pending", r["pending"].get<uint64_t>()),
                           fmt::format("{:.0f} timers/s ({:.2f}x the hand-written loop)",
                                       r["timers_per_s"].get<double>(),
                                       r["ratio"].get<double>()),
                           "-", std::nullopt});
    }
    if (wanted("windows")) {
      auto r = windows(env);
      results["windows"] = r;
      auto ratio = r["ratio_median"].get<double>();
      headlines.push_back({"windowed count, Partita / hand-written windowed loop",
                           fmt::format("{:.2f}x", ratio), ">= 0.8x", ratio >= 0.8});
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  results["seconds"] = seconds_since(started);
  std::ofstream{std::filesystem::path{out_dir} / "results.json"} << results.dump(2) << "\n";
  std::cout << "\nsummary (" << static_cast<int>(seconds_since(started)) << " s)\n";
  std::printf("%-58s %-22s %-16s %s\n", "figure", "value", "target", "");
  for (const auto& h : headlines)
    std::printf("%-58s %-22s %-16s %s\n", h.figure.c_str(), h.value.c_str(), h.target.c_str(),
                !h.met ? "" : *h.met ? "met" : "MISSED");
  std::cout << "results: " << (std::filesystem::path{out_dir} / "results.json").string() << "\n";
  std::filesystem::remove_all(work);
  return 0;
}
