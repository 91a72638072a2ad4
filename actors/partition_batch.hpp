#pragma once

// A partition actor's batch path (partition_batch.cpp): behaviors over a batch in one LMDB
// transaction, its pending-effects record, and the produce of its effects. Internal to the
// partition actor (partition_actor.cpp), which handles the rest of its life.

#include "actors/partition_actor.hpp"

#include "actors/engine_context.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace partita::detail {

using partition_self = caf::stateful_actor<partition_state>*;

/// How many times the record at `offset` of `topic` failed before (stored with the state).
int64_t earlier_failures(const partition_state& st, const std::string& topic, int64_t offset);

/// A record the partition cannot get past now.
struct poison_error : std::runtime_error {
  poison_error(const std::string& what, bool stop) : std::runtime_error(what), stop(stop) {}
  bool stop; // the policy says: stop the partition, do not restart it
};

/// Why the partition may not process now: the member's lease is out (it may have lost its
/// partitions without knowing), a table its behaviors read is recovering, or max_deferred
/// records wait for their commit handles.
enum class hold { none, lease, tables, deferred };
hold hold_reason(const partition_state& st);
/// Looks again in a while why the partition holds its records (lease_atom).
void look_again(partition_self self, hold reason);
/// False while the partition holds its records (hold_reason()); says why in the log once.
bool may_write(partition_self self);

/// Commits the batch (state, offsets, and its effects as a pending batch) in one transaction,
/// then produces the effects (send_effects). `last` < 0: no input record (`fired`: a batch of
/// timers fired; otherwise only metadata changed).
void commit_batch(partition_self self, const std::string& topic,
                  partition_store::write_batch& batch, engine_context& ctx, int64_t last,
                  std::chrono::steady_clock::time_point fetched_at, bool fired = false);

/// Commits `batch` with the metadata acknowledgements changed: the acknowledged offsets, the
/// changelog position, the pending batches to forget (forgotten here only once committed).
/// Throws store_error.
void commit_meta(partition_state& st, partition_store::write_batch& batch);

/// commit_meta() in a transaction of its own.
void save_meta(partition_state& st);

/// Registers a batch's effects with the commit tracker under its sequence number and produces
/// them in their turn: a batch that changes side tables (timers, windows) waits for every
/// batch before it, produces its outputs, then its records one changelog after another (side
/// tables, then the table), each once the one before is acknowledged. A batch with outputs and
/// table records (and no side records) produces its outputs at once and its table records
/// once they are acknowledged, after the batches before it.
void send_effects(partition_self self, const pending_batch& effects,
                  std::chrono::steady_clock::time_point fetched_at);

/// Produces what may go now of the batches not produced yet.
void send_unsent(partition_self self);

/// acked_atom: every effect of batch `seq` is acknowledged (its last table changelog record
/// at `changelog_last`), or failed (`error`), or landed after another writer's (`foreign`).
void on_acked(partition_self self, uint64_t seq, int64_t changelog_last,
              const std::string& error, bool foreign);

/// outputs_acked_atom: the outputs batch `seq` sent ahead of its table records (a batch with
/// both) are acknowledged, or failed (`error`): its table records may go.
void on_outputs_acked(partition_self self, uint64_t seq, const std::string& error);

/// side_acked_atom: the outputs or side records of the batch in flight are acknowledged (at
/// `last`, the last offset): its next changelog's records go, then what waited behind it.
void on_side_acked(partition_self self, int64_t last, const std::string& error, bool foreign);

/// The partition cannot go on: it stops taking records, waits (up to the drain timeout) for the
/// effects already produced, saves its offsets, and quits with the error, for the supervisor
/// (partition_actor.cpp).
void fail(partition_self self, const std::string& what, errc code = errc::partition_failed);

/// Ends a drain (revocation, stop) or a failure once nothing is in flight (or the time is up):
/// saves the offsets, answers the drain, and quits — with the failure's error, if any
/// (partition_actor.cpp).
void finish_drain(partition_self self, bool timed_out);

/// Fires the timers due now (at most `limit`) in one batch, as process() runs records: a timer
/// whose behavior fails is tried again and dead-lettered, or fails the partition, by the
/// poison policy. Returns how many fired.
std::size_t fire_timers(partition_self self, std::size_t limit);

/// Schedules the partition's next timer wake-up (timer_atom) for its first timer, unless one
/// as early is scheduled (partition_timers.cpp).
void arm_timers(partition_self self);

/// punctuate_atom: runs the graph's punctuation `index` over every key of the partition, in
/// one batch; a key whose behavior fails is dead-lettered, or (the other policies) the batch
/// is kept and poison_error thrown.
void punctuate_partition(partition_self self, uint32_t index);

/// timer_atom: fires a batch of the timers due, then wakes up again at once if more are due, or
/// at the next one's time.
void fire_due_timers(partition_self self);

/// A record of the visits topic, in process()'s batch: a start record sets the visit's
/// progress beside the timers; a done record is another partition's report, and nothing here.
/// Returns the error of a record that is no visit's (partition_visits.cpp).
std::optional<std::string> begin_visit(partition_state& st, engine_context& ctx,
                                       partition_store::write_batch& batch);

/// Schedules the next chunk of the visits under way (visit_atom), if there are any and none is
/// scheduled.
void arm_visits(partition_self self);

/// visit_atom: runs the next chunk of the first visit under way as a batch of its own, its
/// progress with its changes; the last chunk erases the progress and reports the visit done.
void visit_chunk(partition_self self);

/// Runs the behaviors over a batch, in one LMDB transaction. A record that fails is handled by
/// the poison policy: the records before it are kept, then poison_error is thrown (the
/// partition fails, to be restarted, or stops), or the record goes to the dead-letter topic and
/// the batch goes on. Returns false when it stopped early, at max_deferred open commit
/// handles: the rest of the batch waits (the records applied are skipped when it comes again).
bool process(partition_self self, const record_batch& in);

/// deferred_atom: commit handle `id` was called (`error`: by fail()); a batch it held free
/// goes out (deferred_commits.cpp).
void on_deferred(partition_self self, uint64_t id, const std::optional<std::string>& error);

/// How many of the batches not acknowledged are held back by an open commit handle (the first
/// held and every batch after it): what a failure does not wait for.
std::size_t held_back(const partition_state& st);

} // namespace partita::detail
