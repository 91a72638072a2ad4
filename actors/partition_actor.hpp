#pragma once

#include "actors/changelog_format.hpp"
#include "actors/commit_tracker.hpp"
#include "actors/deferred_commits.hpp"
#include "actors/group_tables.hpp"
#include "actors/member_lease.hpp"
#include "actors/messages.hpp"
#include "actors/partition_figures.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/changelog_reader.hpp"
#include "runtime/graph_definition.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <caf/all.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace partita {

/// What a partition actor needs: its partition of the group graph, its store, the shared
/// producer, and the consumer pump's hooks.
struct partition_config {
  std::shared_ptr<const graph_definition> graph;
  int32_t partition = 0;
  store_config store;
  /// Reads the changelogs during recovery (shared by the processor's partitions).
  std::shared_ptr<changelog_reader> reader;
  std::shared_ptr<kafka_producer> producer;
  std::shared_ptr<partition_flow> flow;
  /// Hands `next_offset` of `topic` to the consumer for its next commit.
  std::function<void(const std::string& topic, int32_t partition, int64_t next_offset)> commit;
  std::chrono::milliseconds drain_timeout{30000};
  poison_policy on_poison = poison_policy::dead_letter;
  int poison_retries = 3;
  /// Deferred records (ctx.defer_commit()) open at once before the partition takes no more.
  std::size_t max_deferred = 20000;
  /// Counts records processed (shared by all partitions of a processor).
  std::shared_ptr<std::atomic<uint64_t>> records;
  /// Counts partitions recovered and processing.
  std::shared_ptr<std::atomic<int64_t>> ready;
  /// The processor's metrics: records per topic, state, store size, recovery, commit latency.
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
  /// The member's lease on its partitions; null: never fenced (tests of one actor).
  std::shared_ptr<const member_lease> lease;
  /// The joined and looked-up tables; null: the graph reads none.
  std::shared_ptr<const group_tables> tables;
  /// The clock timers are scheduled and fired by (ms since the epoch).
  std::function<int64_t()> clock = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  };
};

/// This writer's place in one of the side tables' changelogs (`<group>-timers`,
/// `<group>-windows`): as the table changelog's fields of partition_state.
struct side_log {
  std::string topic; // empty: the graph keeps no such side table
  /// The store's position in it: every record before it is in the side table.
  int64_t next = 0;
  /// Where this writer's next record should land.
  int64_t expected = 0;
  /// Last offset of each acknowledged batch the commit watermark has not passed.
  std::map<uint64_t, int64_t> acked;
  writer_id writer; // with its base in this changelog
  bool wrote = false;
  bool kept() const { return !topic.empty(); }
};

/// A committed batch whose effects are not produced yet (partition_batch.cpp).
struct unsent_batch {
  pending_batch batch;
  std::chrono::steady_clock::time_point fetched_at;
  int64_t number = 0; // its number in this writer's changelogs, once produced
  bool outputs_sent = false; // its outputs went before its changelogs
  bool outputs_acked = false; // and were acknowledged
};

/// State of a partition actor. Owns the partition's LMDB store.
struct partition_state {
  static inline const char* name = "partition";

  partition_config cfg;
  std::shared_ptr<partition_store> store; // shared with the recovery thread while it runs
  std::shared_ptr<spdlog::logger> log;
  /// Last input offset applied to the table, by topic.
  std::map<std::string, int64_t> applied;
  commit_tracker tracker;
  /// The changelog position of the store: every record before it is in the table.
  int64_t changelog_next = 0;
  /// Where this writer's next changelog record should land.
  int64_t changelog_expected = 0;
  /// Last changelog offset of each acknowledged batch the commit watermark has not passed.
  std::map<uint64_t, int64_t> changelog_acked;
  /// The same for the side tables' changelogs (timers, windows), and this writer there.
  std::array<side_log, side_count> sides;
  /// Committed batches not produced yet: a batch that changes a side table is produced once
  /// every batch before it is acknowledged, its side records first, one changelog after
  /// another, and the batches after it wait until those are acknowledged (docs/time.md).
  std::deque<unsent_batch> unsent;
  /// The batch whose side records (or, before them, its outputs) are produced and not
  /// acknowledged yet, and which side.
  std::optional<unsent_batch> side_in_flight;
  side in_flight_side = side::timers;
  bool outputs_in_flight = false;
  /// Batches whose table records and outputs are produced, not acknowledged yet.
  std::size_t producing = 0;
  /// Unsent batches whose outputs went ahead of their table records, not acknowledged yet.
  std::size_t outputs_ahead = 0;
  /// Batches this writer numbered (partita.batch).
  int64_t batch_no = 0;
  /// When the next timer wake-up is scheduled for, if one is.
  std::optional<int64_t> wakeup_at;
  /// Pending batches acknowledged, to forget in the next transaction (a batch's or a flush's).
  std::vector<uint64_t> forget;
  bool flush_scheduled = false;
  writer_id writer;
  /// This writer's records are in the changelog before `changelog_next`: readers of the store's
  /// position on ignore lower epochs.
  bool wrote = false;
  bool recovering = false;
  /// The store is reconciled with the changelog (on_restored ran).
  bool restored = false;
  /// Batches are held (stashed) because the member's lease ran out, or the tables the
  /// behaviors read are not recovered yet.
  bool holding = false;
  bool holding_quietly = false; // held at max_deferred open commit handles: not logged
  /// The partition failed because another member writes its changelog: what is in flight
  /// will never count, so a failure does not wait for it.
  bool abandoned = false;
  bool counted_ready = false;
  std::shared_ptr<std::atomic<bool>> cancel_recovery = std::make_shared<std::atomic<bool>>(false);
  std::thread recovery;
  /// Batches that arrived during recovery or while the lease is out, processed after.
  std::vector<record_batch_ptr> stash;
  uint64_t next_seq = 0;
  std::optional<caf::response_promise> drain;
  /// Set once the partition cannot go on: it finishes what is in flight, then quits with it.
  std::optional<caf::error> failure;
  std::string dead_letter_topic;
  std::string table_topic;  // <group>-table
  std::string visits_topic; // <group>-visits
  /// A visit chunk (visit_atom) is scheduled.
  bool visit_scheduled = false;
  /// The commit handles the behaviors opened and have not called yet, by batch.
  deferred_commits deferred;
  side_log& timers() { return sides[static_cast<unsigned>(side::timers)]; }
  std::unique_ptr<partition_actor_figures> figures;

  ~partition_state();
};

///  One Kafka partition of a group (that partition of every input topic), with its LMDB state.
///
///           spawn
///             |  open store; answer the acknowledged offsets (where the consumer starts)
///             v
///       +------------+  restored   +-----------+  drain, nothing pending  +------+
///       | recovering | ----------> |  running  | -----------------------> | done |
///       +------------+  re-send    +-----------+                          +------+
///        the hand-over   pending    batch: behaviors, one LMDB txn (state, offsets, pending
///        rule (handover  batches    effects), async produce; acked: advance the watermark
///        .hpp); batches             lease out, or joined/looked-up tables recovering: hold
///                                   batches until it is renewed, or they are recovered
///        are stashed                   |
///             |  error                 | error (recovery, LMDB, poison record, foreign writer)
///             +-------------------> failing: drops batches, waits for the acks in flight,
///                                   saves offsets, quits with the error (supervisor restarts)
///
/// Handles: batch_atom (record_batch_ptr), acked_atom and side_acked_atom (from delivery
/// reports), offsets_atom, drain_atom (answers offset_map, then quits), get_atom (a table
/// value), lease_atom, flush_atom, timer_atom (fires the timers due), visit_atom (a chunk of a
/// visit under way), deferred_atom (a commit handle called).
caf::behavior partition_actor(caf::stateful_actor<partition_state>* self, partition_config cfg);

} // namespace partita
