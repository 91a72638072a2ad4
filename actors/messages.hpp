#pragma once

// The messages of the engine's actors, in one place.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace partita {

struct handover_result;
/// What a partition's recovery found (actors/handover.hpp).
using handover_ptr = std::shared_ptr<handover_result>;

/// Records of one topic-partition, in offset order, fetched by the consumer pump. Owns the
/// librdkafka messages (no copy of their bytes) and frees them when the last reference goes.
struct record_batch {
  std::string topic;
  int32_t partition = 0;
  std::vector<rd_kafka_message_t*> records;
  /// Frees one record; tests hand in records of their own making.
  void (*release)(rd_kafka_message_t*) = &rd_kafka_message_destroy;
  /// When the records were fetched (for the commit latency).
  std::chrono::steady_clock::time_point fetched_at = std::chrono::steady_clock::now();

  record_batch() = default;
  record_batch(const record_batch&) = delete;
  record_batch& operator=(const record_batch&) = delete;
  ~record_batch() {
    for (auto* m : records)
      release(m);
  }
};
using record_batch_ptr = std::shared_ptr<record_batch>;

/// Shared by the consumer pump and one partition actor: how many records the actor has been
/// sent and not yet processed; the pump pauses fetching above its bound.
struct partition_flow {
  std::atomic<int64_t> in_flight{0};
};

/// Why a partition actor quit.
enum class errc : uint8_t {
  /// It failed and may be restarted.
  partition_failed = 1,
  /// It stopped on purpose (poison policy stop_partition) and must not be restarted.
  partition_stopped,
};

/// Input offsets by topic: the last offset whose effects are all acknowledged (-1: none).
using offset_map = std::map<std::string, int64_t>;

/// pump -> partition: records to process.
using batch_atom = caf::atom_constant<caf::atom("batch")>;
/// pump -> partition: which input offsets are acknowledged? (answer: offset_map)
using offsets_atom = caf::atom_constant<caf::atom("offsets")>;
/// pump -> partition: finish in-flight work, answer the acknowledged offsets and stop.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// producer thread -> partition: every effect of a batch is acknowledged (uint64_t seq,
/// int64_t last changelog offset, std::string error, bool foreign writes in between).
using acked_atom = caf::atom_constant<caf::atom("acked")>;
/// recovery thread -> partition: the store is reconciled with the changelog (handover_ptr,
/// std::string error: empty on success).
using restored_atom = caf::atom_constant<caf::atom("restored")>;
/// partition -> itself: save what acknowledgements changed (offsets, pending batches forgotten).
using flush_atom = caf::atom_constant<caf::atom("flush")>;
/// partition -> itself: look at the member's lease again (batches are held while it is out).
using lease_atom = caf::atom_constant<caf::atom("lease")>;
/// anyone -> partition: the table's value of a key (answer: std::string, empty if none).
using get_atom = caf::atom_constant<caf::atom("get")>;
/// With get_atom: the windows of a key in the windowed table, as flat strings (start, end,
/// "closed" or "open", value for each).
using windows_atom = caf::atom_constant<caf::atom("windows")>;
/// table follower -> table partition: the topic partition ends at this offset (int64_t), and
/// every record before it was sent.
using eof_atom = caf::atom_constant<caf::atom("eof")>;
/// partition -> itself: a drain ran out of time.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// producer thread -> partition: a batch's records of one side changelog (timers, windows) are
/// acknowledged (as acked_atom), so its next changelog's records may go.
using side_acked_atom = caf::atom_constant<caf::atom("sideacked")>;
/// producer thread -> partition: the outputs a batch sent ahead of its table records are
/// acknowledged (seq, error), so its table records may go.
using outputs_acked_atom = caf::atom_constant<caf::atom("outsacked")>;
/// partition -> itself: timers may be due.
using timer_atom = caf::atom_constant<caf::atom("timer")>;
/// partition -> itself: run the graph's punctuation number (uint32_t) now.
using punctuate_atom = caf::atom_constant<caf::atom("punctuate")>;
/// A partition actor runs the next chunk of a visit under way (graph.visitor).
using visit_atom = caf::atom_constant<caf::atom("visit")>;
/// commit handle -> its partition: handle (uint64_t) was called, with an error (std::string,
/// bool failed) or not (deferred_commits.hpp).
using deferred_atom = caf::atom_constant<caf::atom("deferred")>;

/// pump -> supervisor: watch partition p's new actor (int32_t, caf::actor).
using watch_atom = caf::atom_constant<caf::atom("watch")>;
/// pump -> supervisor: partition p was revoked; forget it (int32_t).
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
/// supervisor -> itself: partition p's backoff is over (int32_t p, uint64_t generation).
using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// anyone -> broker monitor: send me the broker events (caf::actor).
/// Asks an actor whether it answers (the processor's liveness check).
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
/// poller thread -> broker monitor: what the cluster looks like now (cluster_snapshot_ptr).
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
/// broker monitor -> subscribers: broker (int32_t id) stopped answering.
using broker_down_atom = caf::atom_constant<caf::atom("brokerdown")>;
/// broker monitor -> subscribers: broker (int32_t id) answers again.
using broker_up_atom = caf::atom_constant<caf::atom("brokerup")>;
/// broker monitor -> subscribers: (std::string topic, int32_t partition, int32_t from,
/// int32_t to) has a new leader; -1 is "no leader".
using leader_atom = caf::atom_constant<caf::atom("leader")>;

} // namespace partita

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(partita::record_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(partita::handover_ptr)
CAF_ERROR_CODE_ENUM_2(partita::errc, "partita")
