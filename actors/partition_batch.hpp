#pragma once

// A partition actor's batch path (partition_batch.cpp): behaviors over a batch in one LMDB
// transaction, its pending-effects record, and the produce of its effects. Internal to the
// partition actor (partition_actor.cpp), which handles the rest of its life.

#include "actors/partition_actor.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace partita::detail {

using partition_self = caf::stateful_actor<partition_state>*;

/// A record the partition cannot get past now.
struct poison_error : std::runtime_error {
  poison_error(const std::string& what, bool stop) : std::runtime_error(what), stop(stop) {}
  bool stop; // the policy says: stop the partition, do not restart it
};

/// Commits `batch` with the metadata acknowledgements changed: the acknowledged offsets, the
/// changelog position, the pending batches to forget (forgotten here only once committed).
/// Throws store_error.
void commit_meta(partition_state& st, partition_store::write_batch& batch);

/// commit_meta() in a transaction of its own.
void save_meta(partition_state& st);

/// Produces a batch's effects, registered with the commit tracker under its sequence number.
void send_effects(partition_self self, const pending_batch& effects,
                  std::chrono::steady_clock::time_point fetched_at);

/// Runs the behaviors over a batch, in one LMDB transaction. A record that fails is handled by
/// the poison policy: the records before it are kept, then poison_error is thrown (the
/// partition fails, to be restarted, or stops), or the record goes to the dead-letter topic and
/// the batch goes on.
void process(partition_self self, const record_batch& in);

} // namespace partita::detail
