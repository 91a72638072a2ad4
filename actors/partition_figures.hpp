#pragma once

// The figures the engine keeps of each partition, in the processor's metrics registry.

#include "runtime/metrics.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace partita {

/// What a partition is doing, as /metrics and the status page show it.
enum class partition_status { recovering, running, waiting, failed, stopped };

inline constexpr std::array<const char*, 5> partition_status_names{"recovering", "running",
                                                                   "waiting", "failed",
                                                                   "stopped"};

/// A partition's labels: its number, then `extra` (a followed table's `table` label).
inline metrics::labels partition_labels(int32_t partition, const metrics::labels& extra = {}) {
  metrics::labels out{{"partition", std::to_string(partition)}};
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

/// Sets the one-hot gauge partita_partition_state{partition, ..., state}: 1 for `status`, 0
/// for the others. `labels` name the partition (partition_labels()).
inline void set_partition_status(metrics& m, const metrics::labels& labels,
                                 partition_status status) {
  for (size_t i = 0; i < partition_status_names.size(); ++i) {
    auto l = labels;
    l.emplace_back("state", partition_status_names[i]);
    m.gauge("partita_partition_state",
            "State of each partition (1 for its current state): recovering, running, waiting "
            "(restart backoff), failed (too many restarts), stopped (poison record). Followed "
            "tables' partitions carry a `table` label.",
            l) = static_cast<size_t>(status) == i ? 1 : 0;
  }
}
inline void set_partition_status(metrics& m, int32_t partition, partition_status status) {
  set_partition_status(m, partition_labels(partition), status);
}

/// The figures one partition actor keeps up to date.
struct partition_actor_figures {
  partition_actor_figures(metrics& m, int32_t partition);
  /// Records processed, emitted or dead-lettered, by topic.
  metrics::figure& processed(const std::string& topic);
  metrics::figure& emitted(const std::string& topic);
  metrics::figure& dead_lettered(const std::string& topic);

  metrics& registry;
  metrics::figure& store_bytes;
  metrics::figure& recovered;
  metrics::figure& recovery_progress;
  metrics::summary_figures commit_latency;
  /// Timers not fired yet (a group with timers; null otherwise).
  metrics::figure* timers_pending = nullptr;
  void count_timers(std::size_t pending);
  /// Records whose commit waits for its handle (ctx.defer_commit()), once the partition deferred
  /// one.
  metrics::figure* deferred_records = nullptr;
  void count_deferred(std::size_t open);
  /// Window updates dropped because their window had closed (a group with a windowed table).
  metrics::figure& late_windows();

private:
  void set_gauge(metrics::figure*& gauge, const char* name, const char* help, std::size_t value);
  std::map<std::string, metrics::figure*> processed_, emitted_, dead_lettered_;
  metrics::figure* late_windows_ = nullptr;
  int32_t partition_;
};

} // namespace partita
