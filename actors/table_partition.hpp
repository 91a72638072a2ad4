#pragma once

#include "actors/changelog_replay.hpp"
#include "actors/messages.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/metrics.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace partita {

/// What readers see of one followed table partition: its store and how far it has come.
/// Shared by its actor (the one writer) and any thread that reads (behaviors of a processor's
/// partition actors, a view's callers).
class table_partition_handle {
public:
  /// The partition's store; null until its actor opened it.
  std::shared_ptr<const partition_store> store() const {
    std::lock_guard guard{mtx_};
    return store_;
  }
  void set_store(std::shared_ptr<const partition_store> s) {
    std::lock_guard guard{mtx_};
    store_ = std::move(s);
  }
  /// Reached the end of its topic partition once: its values are those of the topic then or
  /// later.
  std::atomic<bool> recovered{false};
  /// The next offset of the topic partition not yet in the store.
  std::atomic<int64_t> position{0};
  /// The partition's end as last seen (-1: not yet known).
  std::atomic<int64_t> end{-1};
  /// Records applied since the partition was first followed by this process.
  std::atomic<int64_t> applied{0};

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const partition_store> store_;
};

/// What a table partition actor needs.
struct table_partition_config {
  std::string topic;
  int32_t partition = 0;
  /// Opened by the follower, which closes it once the actor is gone; null: it could not be
  /// opened, for `store_error`.
  std::shared_ptr<partition_store> store;
  std::string store_error;
  /// The group's input topics when the topic is the group's own table followed as a hot
  /// standby: read by the group's own rule (plain records wait for 0.1 checkpoints), and the
  /// store's pending batches (of a time this member owned the partition) are kept for a
  /// re-send until another writer's record shows that the partition moved on without them.
  std::vector<std::string> standby_inputs;
  std::shared_ptr<table_partition_handle> handle = std::make_shared<table_partition_handle>();
  std::shared_ptr<partition_flow> flow = std::make_shared<partition_flow>();
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
};

struct table_partition_state {
  static inline const char* name = "table-partition";
  table_partition_config cfg;
  std::unique_ptr<changelog_replay> replay;
  /// Standby: the store's own writer id while it still has pending batches (0: none), and
  /// its position when the actor started.
  int64_t pending_writer = 0;
  int64_t started_at = 0;
  /// The records of the batch being applied: kept, so that its capacity is reused (a new one
  /// per batch is a large allocation each time, which makes glibc consolidate its free lists).
  std::vector<changelog_record> parsed;
  std::shared_ptr<spdlog::logger> log;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  /// Its figures, looked up once (a lookup takes the registry's lock).
  metrics::figure* position = nullptr;
  metrics::figure* bytes = nullptr;
  metrics::figure* records = nullptr;
  ~table_partition_state();
};

///  One partition of a table topic followed into its own LMDB store: the unit behind joins,
///  lookups and views (docs/tables.md). The table follower feeds it the topic's records in
///  offset order; it applies them by the changelog reading rule (changelog_replay.hpp), so a
///  Partita group's unfinished batches and superseded writers never show, and records of any
///  other producer count at once.
///
///     spawn                          batch: apply in one LMDB transaction
///       |                              |
///       v        end of partition      v
///   recovering ------------------> following      (error: quits; the supervisor restarts it
///                                                   with backoff, from the store's position)
///
/// Handles: offsets_atom (answers the store's position, int64_t: where following resumes),
/// batch_atom (record_batch_ptr), eof_atom (int64_t: the partition ended at that offset).
caf::behavior table_partition(caf::stateful_actor<table_partition_state>* self,
                              table_partition_config cfg);

} // namespace partita
