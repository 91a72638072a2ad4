#pragma once

#include "runtime/graph_definition.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
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

/// A visit that could not start, or not finish in time, or that a partition could not run.
class visit_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A visit as it goes (processor::visit_all's progress).
struct visit_status {
  std::string id;   // 16 hex digits
  std::string name; // the visitor's
  int32_t partitions = 0;
  int32_t done = 0;     // partitions that visited every key
  int64_t visited = 0;  // keys visited by those
  std::string error;    // the first partition's that could not visit
  bool finished = false;
};

/// A visit done: the keys visited in every partition.
struct visit_result {
  std::string id;
  int64_t visited = 0;
  int32_t partitions = 0;
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

  /// The group of the graph it runs, and whether the graph has a table (`<group>-table`).
  const std::string& group() const;
  bool has_table() const;

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

  /// Runs visitor `name` (graph.visitor) with `value` over every key of the group table, in
  /// every partition, whichever member of the group owns it, and returns once each partition
  /// is done (Goka's VisitAll). The visit runs in chunks between input records; a partition
  /// that moves mid-visit finishes it on its new owner. `on_progress` (on this thread) learns
  /// each partition done. Throws graph_error for an unknown visitor or a value of another
  /// type, visit_error when not done within `timeout` (the visit goes on) or a partition could
  /// not visit, config_error when the visits topic does not exist. Thread-safe; any thread.
  template <class T>
  visit_result visit_all(const std::string& name, const T& value,
                         std::chrono::milliseconds timeout = std::chrono::minutes{10},
                         const std::function<void(const visit_status&)>& on_progress = {}) const {
    return visit_all_encoded(name, encode_for(visitor_codec(name), "visit", name, value),
                             timeout, on_progress);
  }
  /// visit_all with the value encoded by the visitor's codec (throws decode_error for bytes
  /// it cannot decode). Waiting ends early, with visit_error, once `cancel` is set or the
  /// processor stops.
  visit_result visit_all_encoded(const std::string& name, std::string value,
                                 std::chrono::milliseconds timeout,
                                 const std::function<void(const visit_status&)>& on_progress,
                                 const std::atomic<bool>* cancel = nullptr) const;
  /// The codec of visitor `name`'s value; throws graph_error naming the declared visitors.
  const erased_codec& visitor_codec(const std::string& name) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace partita
