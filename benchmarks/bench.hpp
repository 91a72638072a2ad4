#pragma once

// What the scenarios of partita-bench share: the embedded cluster they run on, a click-count
// processor on a thread of its own, timing and figures. Each scenario is a function returning
// its figures as JSON (results.json) after printing its own table.

#include "runtime/embedded_cluster.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace partita::bench {

using clock_type = std::chrono::steady_clock;

struct bench_env {
  embedded_cluster& cluster;
  std::string bootstrap;
  /// Scratch space for LMDB state, removed at the end.
  std::filesystem::path work;
  /// Where results.json, plot data and plots go.
  std::filesystem::path out;
  bool quick = false;
  int partitions = 8;
};

/// CPU seconds this process has used (the embedded cluster runs in it too).
double cpu_seconds();
/// Resident memory of this process, in KiB.
long resident_kib();
double median(std::vector<double> v);
/// The q-quantile (0..1) of `v`.
double quantile(std::vector<double> v, double q);
double seconds_since(clock_type::time_point t);

/// Produces `records` clicks over `keys` keys (`user-<i % keys>`) to `topic`, and waits for the
/// acknowledgements.
void preload(const bench_env& env, const std::string& topic, uint64_t records, int keys);

/// Records per key of `topic` (partitions 0..env.partitions-1), read from the low to the high
/// watermarks: what the topic really holds, duplicates of the producer's retries included.
std::map<std::string, int64_t> count_keys(const bench_env& env, const std::string& topic);

/// A click-count processor (group `group`, input `topic`) on the embedded cluster, running on a
/// thread of its own until the object goes. `tune` adjusts its settings.
class clickcount_run {
public:
  clickcount_run(const bench_env& env, const std::string& group, const std::string& topic,
                 const std::filesystem::path& state,
                 const std::function<void(processor_config&)>& tune = {});
  /// The same with a counting graph of one's own.
  clickcount_run(const bench_env& env, const group_graph<int64_codec>& graph,
                 const std::filesystem::path& state,
                 const std::function<void(processor_config&)>& tune = {});
  ~clickcount_run();
  clickcount_run(const clickcount_run&) = delete;
  clickcount_run& operator=(const clickcount_run&) = delete;

  /// The processor's figures; throws when its run failed.
  processor_stats stats() const;
  const processor& proc() const { return proc_; }
  /// Waits until `n` partitions are assigned and ready; returns the seconds it took.
  double wait_ready(std::size_t n, std::chrono::seconds timeout = std::chrono::seconds{120});

private:
  static processor_config config(const bench_env& env, const std::filesystem::path& state,
                                 const std::function<void(processor_config&)>& tune);

  processor proc_;
  std::string error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

/// What one side's run measured.
struct run_result {
  double records_per_s = 0;
  double cpu_s_per_million = 0;
};
/// Times a run from the moment the side has its partitions to the last record applied:
/// `progress` answers (assigned, applied). The CPU is the whole process's (both sides pay for
/// the cluster).
run_result time_run(uint64_t total, const std::function<std::pair<bool, uint64_t>()>& progress);
/// Partita's side: `graph` over the first `total` records of its input.
run_result run_partita(const bench_env& env, const group_graph<int64_codec>& graph,
                       uint64_t total);
/// The hand-written side (baseline.hpp) as group `group`: the click count of `topic`, joined
/// with `join` if given, or per window of `window_ms` if above 0.
run_result run_hand_written(const bench_env& env, const std::string& topic,
                            const std::string& group, uint64_t total,
                            const std::string& join = {}, int64_t window_ms = 0);

/// One round of a comparison, Partita's side and the hand-written one, the side that goes
/// first alternating with `round`: {Partita's, the hand-written one's}.
std::pair<run_result, run_result> alternate(int round, const std::function<run_result()>& partita,
                                            const std::function<run_result()>& hand_written);

/// Renders `script` with gnuplot (in `env.out`); says so and returns false when gnuplot fails.
bool plot(const bench_env& env, const std::string& name, const std::string& script);

// The scenarios.
nlohmann::json throughput(const bench_env& env);
nlohmann::json join(const bench_env& env);
nlohmann::json recovery(const bench_env& env);
nlohmann::json latency(const bench_env& env);
nlohmann::json broker_failure(const bench_env& env);
nlohmann::json scaling(const bench_env& env);
nlohmann::json supervision(const bench_env& env);
nlohmann::json timers(const bench_env& env);
nlohmann::json windows(const bench_env& env);

} // namespace partita::bench
