#pragma once

#include "actors/member_lease.hpp"
#include "actors/messages.hpp"
#include "runtime/graph_definition.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace spdlog {
class logger;
}

namespace partita {

/// Hands an acknowledged `next_offset` of a topic-partition to the consumer's next commit.
using commit_fn = std::function<void(const std::string& topic, int32_t partition, int64_t next)>;

/// Starts the actor of partition `p`.
using partition_spawner =
  std::function<caf::actor(int32_t p, std::shared_ptr<partition_flow> flow, commit_fn commit)>;

/// Settings of the consumer pump.
struct pump_config {
  std::shared_ptr<const graph_definition> graph;
  /// bootstrap.servers and the user's librdkafka properties.
  kafka_properties kafka;
  start_from from = start_from::earliest;
  std::size_t max_in_flight = 20000;
  std::chrono::milliseconds drain_timeout{30000};
  restart_policy restart;
  /// The processor's metrics: records consumed, lag, and (through the supervisor) restarts.
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
  /// The member's lease, renewed by assignments and successful offset commits.
  std::shared_ptr<member_lease> lease = std::make_shared<member_lease>(std::chrono::seconds{10});
  /// Called on the pump's thread with partitions newly assigned (before their actors start)
  /// and with partitions given up (once drained): the joined tables follow the assignment.
  std::function<void(const std::vector<int32_t>&)> on_assigned = [](const auto&) {};
  std::function<void(const std::vector<int32_t>&)> on_revoked = [](const auto&) {};
};

/// The group consumer's librdkafka settings before the user's: offsets stored only once
/// acknowledged, the assignor, and fetch settings tuned for throughput. The hand-written
/// baseline of the benchmarks uses them too.
kafka_properties consumer_defaults(const std::string& group, start_from from,
                                   bool co_partitioned);

/// Owns the group consumer on the thread that calls run() (never an actor scheduler's thread).
/// Batches fetched records per partition, one message per batch to that partition's actor;
/// pauses a partition whose actor has more than max_in_flight records queued. On assignment it
/// starts the partition actors and seeks past what their stores hold; on revocation it drains
/// them, commits their acknowledged offsets, then releases the partitions.
class consumer_pump {
public:
  consumer_pump(caf::actor_system& sys, pump_config cfg, partition_spawner spawn);
  consumer_pump(const consumer_pump&) = delete;
  consumer_pump& operator=(const consumer_pump&) = delete;
  ~consumer_pump();

  /// Consumes until `stop` is set, then drains and commits every partition and leaves the group.
  void run(const std::atomic<bool>& stop);

  /// The actor of partition `p` if this process holds it.
  std::optional<caf::actor> actor_for(int32_t p) const;

  /// Partitions held by this process.
  std::size_t partitions() const;

  /// Partitions that failed too often and stay down.
  std::size_t failed() const;

  /// The supervisor of the partition actors (for the broker monitor's events).
  const caf::actor& supervisor() const { return supervisor_; }

  /// The group consumer (for the broker poller's metadata refresh).
  rd_kafka_t* handle() const { return rk_; }

private:
  struct channel {
    caf::actor actor;
    std::shared_ptr<partition_flow> flow;
    std::vector<std::string> topics;
    bool paused = false;
    /// Its actor failed: fetching stays paused until the supervisor restarts it.
    bool down = false;
    bool failed = false;
  };
  /// What the supervisor asks of the pump; handled on the pump's thread.
  struct supervisor_requests {
    std::mutex mtx;
    std::vector<int32_t> down;
    std::vector<int32_t> restart;
    std::vector<int32_t> failed;
  };
  /// The consumer handle for actors' commits, cut off when the consumer goes away, and the
  /// last offset handed over for each partition (committed again to renew the lease).
  struct offset_sink {
    std::mutex mtx;
    rd_kafka_t* rk = nullptr;
    std::map<std::pair<std::string, int32_t>, int64_t> stored;
  };

  using part_list = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                    decltype(&rd_kafka_topic_partition_list_destroy)>;
  static part_list make_list(int size);

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  void assign(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts);
  /// Adds `parts` to the assignment or takes them out (cooperative), or sets the whole
  /// assignment to `parts` or to nothing (eager).
  void change_assignment(rd_kafka_topic_partition_list_t* parts, bool add);
  void dispatch(rd_kafka_message_t** msgs, size_t n);
  /// Starts the actor of partition p, watched by the supervisor.
  caf::actor start_partition(int32_t p, channel& ch);
  /// Sets each entry's offset to where consumption resumes: past what the partition's store
  /// acknowledged, or Kafka's committed offset, whichever is further.
  void resume_offsets(rd_kafka_topic_partition_list_t* parts,
                      const std::map<std::pair<std::string, int32_t>, int64_t>& acked);
  /// The acknowledged offsets a partition actor reports, by topic and partition.
  void ask_offsets(int32_t p, const caf::actor& actor,
                   std::map<std::pair<std::string, int32_t>, int64_t>& out);
  void handle_supervisor_requests();
  void restart_partition(int32_t p);
  /// Pauses a partition whose actor has max_in_flight records queued; resumes it at half.
  void apply_back_pressure();
  /// Sets partita_consumer_lag_records of every assigned topic-partition.
  void update_lag();
  void pause(int32_t p, channel& ch, bool paused);
  bool cooperative() const;
  /// Commits the partitions' offsets again, so that the coordinator's answer renews the lease.
  void renew_lease();

  caf::actor_system& sys_;
  pump_config cfg_;
  partition_spawner spawn_;
  std::shared_ptr<spdlog::logger> log_;
  rd_kafka_t* rk_ = nullptr;
  std::shared_ptr<offset_sink> sink_ = std::make_shared<offset_sink>();
  std::unique_ptr<caf::scoped_actor> self_;
  /// Where the answers to renew_lease()'s commits arrive (served by run()).
  rd_kafka_queue_t* lease_queue_ = nullptr;
  std::shared_ptr<supervisor_requests> requests_ = std::make_shared<supervisor_requests>();
  caf::actor supervisor_;
  /// Set when a failed partition stops the process (restart_policy::stop_process_on_failure).
  std::atomic<bool> stop_requested_{false};
  /// librdkafka 2.0.2's sticky assignors abort in rd_kafka_destroy() when the member joined
  /// the group but never received an assignment (librdkafka #4312, fixed in 2.3.0): with a
  /// sticky strategy, run() waits a little for the first assignment before leaving, and a
  /// member that still has none keeps its closed handle instead of destroying it.
  bool sticky_ = false;
  bool subscribed_ = false;
  std::atomic<bool> assigned_once_{false};
  mutable std::mutex mtx_; // guards partitions_ against readers on other threads
  std::map<int32_t, channel> partitions_;
  /// partita_records_consumed_total by topic (used on the pump's thread only).
  std::map<std::string, metrics::figure*, std::less<>> consumed_;
};

} // namespace partita
