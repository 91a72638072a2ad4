#pragma once

#include "actors/changelog_format.hpp"
#include "persistence/partition_store.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace partita {

/// Reads a changelog partition from an offset to its end as of the start, in chunks of parsed
/// records. Returns the end (the high watermark when the read began).
using changelog_source = std::function<int64_t(
  int64_t from, const std::function<void(std::vector<changelog_record>&)>& apply)>;

/// Where a partition stands once its store is reconciled with the changelog.
struct handover_result {
  /// Last input offset, by topic, whose effects the table holds.
  std::map<std::string, int64_t> applied;
  /// This store's batches whose effects Kafka never acknowledged, to be sent again (their
  /// effects are in the table). Empty when another writer wrote the changelog meanwhile.
  std::vector<pending_batch> resend;
  /// The identity to write the changelog with from now on (a new epoch).
  writer_id writer;
  /// Where the next changelog record of this writer lands, if nobody else writes.
  int64_t changelog_end = 0;
  /// Keys whose last record in a changelog was ignored (a superseded owner's) or left out:
  /// their value in the store now (nullopt: none), for the new owner to write again, so that
  /// the changelog's last record of each key is what the store holds (and compaction never
  /// keeps one that does not count).
  using repairs = std::vector<pending_batch::change>;
  repairs repair;
  /// Where a side table's changelog stands.
  struct side_found {
    /// Where the next record of this writer lands, and its base there (the store's position).
    int64_t end = 0;
    int64_t base = 0;
    repairs repair; // as the table's
  };
  std::array<side_found, side_count> sides;
  /// What happened, for the log.
  enum class path { current, rolled_back, rebuilt } taken = path::current;
  uint64_t records = 0;   // changelog records read
  uint64_t superseded = 0; // ignored: written by an owner superseded before
  uint64_t left_out = 0;   // of batches that never got their checkpoint
  std::size_t rolled_back = 0; // own pending batches undone
};

/// The hand-over rule (docs/handover.md): makes the store of a partition equal the changelog
/// as of its last checkpoint plus — only while no other writer has written the changelog
/// since — this store's own pending batches, which are then to be re-sent, not re-applied.
///
///   1. Read the changelog from the store's position (the table equals the changelog up to
///      there, plus the pending batches). Records of this store's own writer are held back.
///   2. No record of another writer: the store is current. The held records are a prefix of
///      the pending batches' records; every pending batch is to be sent again.
///   3. A record of another writer: the store is stale. Its pending batches are rolled back
///      (each key to its value before them), then everything read is replayed by the reading
///      rule (changelog_replay), the held records first.
///   4. A store of Partita 0.1 with applied but unacknowledged records (no pending batches to
///      roll back) is rebuilt from the start of the changelog.
/// The result names the writer identity for the new owner: the store's id, with an epoch
/// higher than any in the changelog and than any of an owner assigned in an earlier group
/// `generation` (next_epoch). Runs on a thread that may block (the read does).
///
/// A group with side tables (timers, windows) has a changelog for each (`sides`, null for one it
/// does not keep; docs/time.md), read the same way after the table's, timers then windows: the
/// store is current only if none has another writer's records since its position; stale,
/// all are replayed, a checkpoint's `then` confirmed by what the reading of the changelog it
/// names counted.
using side_sources = std::array<const changelog_source*, side_count>;
handover_result take_over(partition_store& store, const std::vector<std::string>& inputs,
                          const changelog_source& read, const side_sources& sides = {},
                          int32_t generation = 0);

/// Undoes a store's pending batches (each key back to its value before them; the applied
/// offsets back to the acknowledged ones), for a store that follows its changelog as a hot
/// standby: another member owns the partition, so they will never be sent. Returns how many.
std::size_t roll_back_pending(partition_store& store, const std::vector<std::string>& inputs);

} // namespace partita
