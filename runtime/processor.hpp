#pragma once

#include "runtime/graph_definition.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace partita {

/// Figures a processor keeps while it runs.
struct processor_stats {
  uint64_t records = 0;     // records processed by behaviors
  std::size_t partitions = 0; // partitions assigned to this process
  std::size_t ready = 0;      // of which recovered and processing
  std::size_t failed = 0;     // of which failed too often and stay down
};

/// Runs a group graph: one actor per assigned partition, each with its LMDB state recovered
/// from the changelog, committing an input offset only when all its effects are durable.
/// Several processes with the same group share the partitions.
///
///   partita::processor p{cfg, graph};
///   p.run();          // blocks until p.stop() (from another thread or a signal)
class processor {
public:
  template <class TableCodec>
  processor(processor_config cfg, const group_graph<TableCodec>& graph)
    : processor(std::move(cfg), graph.definition()) {}
  /// Throws graph_error or config_error for a graph or settings that cannot run.
  processor(processor_config cfg, graph_definition graph);
  processor(const processor&) = delete;
  processor& operator=(const processor&) = delete;
  ~processor();

  /// Checks and creates the topics, joins the group and processes until stop(); then drains
  /// in-flight records, commits and leaves the group. Throws config_error when the cluster
  /// cannot be used (unreachable brokers, topics not co-partitioned).
  void run();

  /// Asks run() to finish. Thread-safe; returns at once.
  void stop();

  processor_stats stats() const;

  /// Every figure the engine keeps (records per topic, lag, partition states, restarts,
  /// brokers, leaders, commit latency, store sizes, recovery), for /metrics and the status page.
  const partita::metrics& metrics() const;

  /// True while run() is consuming (between joining the group and leaving it).
  bool running() const;

  /// True when the processor runs and its actors answer within `timeout` (not stuck).
  bool responsive(std::chrono::milliseconds timeout = std::chrono::seconds{1}) const;

  /// The table's current value of `key` (raw bytes), if this process holds its partition.
  std::optional<std::string> get(const std::string& key) const;

  /// The name of the graph's windowed table (graph.windowed), or null.
  const std::string* windowed_table() const;
  /// The windows of `key` in the windowed table, oldest first (their aggregates' bytes), if
  /// this process holds its partition.
  std::vector<window_entry> windows(const std::string& key) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace partita
