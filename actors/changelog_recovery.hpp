#pragma once

#include "actors/handover.hpp"
#include "actors/partition_figures.hpp"
#include "runtime/changelog_reader.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace partita {

/// What the recovery of one partition needs.
struct recovery_job {
  /// The processor's reader; null only when there is nothing to read (no table, no sides).
  std::shared_ptr<changelog_reader> reader;
  std::string changelog; // the table topic; empty for a group without a table
  /// The side tables' changelogs (by side); empty for a side table the group does not keep.
  std::array<std::string, side_count> sides;
  int32_t partition = 0;
  std::vector<std::string> inputs;
  int32_t generation = 0; // of the group, when the partition was assigned (next_epoch)
};

/// Reconciles `store` with its changelog partition by the hand-over rule (take_over), reading
/// the changelog with progress in `figures` and the log. Blocking: runs on a thread of its own.
/// Throws read_cancelled once `cancel` is set, kafka_error when the changelog cannot be read.
handover_result recover_partition(const recovery_job& job, partition_store& store,
                                  const std::atomic<bool>& cancel,
                                  partition_actor_figures& figures);

} // namespace partita
