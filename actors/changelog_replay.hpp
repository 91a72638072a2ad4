#pragma once

#include "actors/changelog_format.hpp"
#include "persistence/partition_store.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace partita {

/// Applies a changelog partition's records, in offset order, to a partition store by the one
/// reading rule of Partita's changelogs (docs/handover.md):
///   - a record of an owner epoch lower than one already seen, or of a group generation
///     lower than the store's own as owner, is ignored: its writer lost the partition (paused
///     or cut off past its session, or frozen with records in flight) and was superseded;
///   - records count once a checkpoint of their own writer vouches for them, or when the next
///     writer's base (the changelog offset its state was taken from) lies after them; a batch
///     that never got its checkpoint (its writer crashed mid-batch) is left out when a record
///     of another writer follows, or the read ends;
///   - a checkpoint advances the store's applied and acknowledged offsets of its input topic,
///     and the store's changelog position to the record after it.
/// Records without Partita's headers are vouched by 0.1's checkpoint records (a group's own
/// changelog of Partita 0.1), or — for a `followed` topic, written by any producer — count at
/// once, as every record of a plain compacted topic does.
///
/// The same rule reads a side table's changelog (`<group>-timers`, `<group>-windows`) into the
/// store's side table, with its own position and epochs; there a checkpoint naming another
/// changelog in `then` vouches only if that one's checkpoint of the same writer and batch
/// number counted (`confirmed`).
class changelog_replay {
public:
  enum class plain_records { wait_for_checkpoint, count_at_once };
  explicit changelog_replay(partition_store& store,
                            plain_records plain = plain_records::wait_for_checkpoint);

  /// Did the reading of changelog `then` ("table", "timers") count batch `batch` of `writer`?
  using confirmation =
    std::function<bool(const std::string& then, const writer_id& writer, int64_t batch)>;
  /// A reader of side table `s`'s changelog into the store's side table.
  static changelog_replay of_side(partition_store& store, side s, confirmation confirmed);

  /// Applies `records` (taking them) in one LMDB transaction.
  void apply(std::vector<changelog_record>& records);

  /// The highest owner epoch seen so far.
  int64_t epoch_seen() const { return epoch_seen_; }
  /// Records ignored because a later owner had written before them.
  uint64_t superseded() const { return superseded_; }
  /// Records of batches left out because another writer followed them.
  uint64_t left_out() const { return left_out_; }
  /// Records read since the last checkpoint (left out if the read ends here).
  std::size_t unvouched() const { return buffer_.size(); }
  /// 0.1 checkpoint records read (keys a table topic should no longer hold).
  uint64_t legacy_markers() const { return legacy_markers_; }
  /// Whether this reading, or an earlier one of this store, counted batch `batch` of `writer`.
  bool counted(const writer_id& writer, int64_t batch) const;
  /// The keys of records ignored or left out so far, the unvouched ones at the end included:
  /// their last record in the changelog may not be what the store holds.
  std::vector<std::string> repair_keys() const;

private:
  /// Writes a vouched record into the batch (its key and value moved out).
  void vouch(partition_store::write_batch& batch, changelog_record& r);
  void leave_out(const changelog_record& r);
  void note_key(const changelog_record& r);
  /// Another writer of an earlier group generation than this store's latest takeover.
  bool below_own(const writer_id& w) const;

  partition_store& store_;
  plain_records plain_;
  std::optional<side> side_; // what it reads into: the table, or a side table
  confirmation confirmed_;
  const char* position_meta_;
  const char* epoch_meta_;
  /// Records that batch `number` of `writer` counted, here and in the store's metadata (with
  /// the batch's position), for the readings of the other changelogs, now and after a
  /// recovery cut short or a standby's promotion.
  void count(partition_store::write_batch& batch, const writer_id& writer, int64_t number);

  std::string name_ = "table"; // the changelog's name in partita.then
  /// The highest batch number counted, by writer (store, epoch); filled from the store's
  /// metadata on first use.
  mutable std::map<std::pair<int64_t, int64_t>, int64_t> counted_;
  std::set<std::string> repair_keys_;
  int64_t epoch_seen_ = 0;
  /// This store as owner (its writer id, its latest epoch): another writer's records of a
  /// lower epoch are a superseded owner's, whoever wrote before them.
  writer_id own_;
  std::map<std::string, int64_t> applied_; // by input topic, as the store holds it
  writer_id current_;
  std::deque<changelog_record> buffer_; // a deque: an unvouched batch may be long
  uint64_t superseded_ = 0;
  uint64_t left_out_ = 0;
  uint64_t legacy_markers_ = 0;
};

} // namespace partita
