#pragma once

#include "actors/table_partition.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/processor_config.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace spdlog {
class logger;
}

namespace partita {

/// Settings of a table follower.
struct follower_config {
  std::string topic;
  /// bootstrap.servers and the user's librdkafka properties.
  kafka_properties kafka;
  /// The stores live at partition_store::path_for(state_dir, owner, topic, p).
  std::filesystem::path state_dir;
  std::string owner;
  bool fsync = false;
  /// The group's input topics when the topic is the group's own table, followed as a hot
  /// standby (table_partition_config::standby_inputs). Empty for another group's table.
  std::vector<std::string> inputs;
  restart_policy restart;
  /// Records queued for one table partition before its fetching pauses.
  std::size_t max_in_flight = 20000;
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
};

///  Follows partitions of one table topic, each into its own LMDB store by a table partition
///  actor (table_partition.hpp) supervised by a partition supervisor: the one mechanism behind
///  joins, lookups and views (docs/tables.md). One thread owns a consumer without a group
///  (assign): it fetches, batches per partition, pauses a partition whose actor is
///  max_in_flight records behind, and tells each actor when its partition's end is reached.
///  librdkafka rides out broker faults and leader moves on its own; an actor that fails
///  (LMDB, a corrupt header) is restarted with backoff from its store's position.
class table_follower {
public:
  table_follower(caf::actor_system& sys, follower_config cfg);
  table_follower(const table_follower&) = delete;
  table_follower& operator=(const table_follower&) = delete;
  /// Stops following: the actors quit, the stores close.
  ~table_follower();

  /// Starts following `partitions` (those already followed stay as they are). Thread-safe;
  /// returns once their stores are open.
  void follow(const std::vector<int32_t>& partitions);
  /// Stops following `partitions` and closes their stores. Thread-safe; returns once closed.
  void release(const std::vector<int32_t>& partitions);

  /// Partition p's handle, or null when it is not followed.
  std::shared_ptr<table_partition_handle> partition(int32_t p) const;
  /// The followed partitions.
  std::vector<int32_t> partitions() const;
  /// Every followed partition reached its end once (true for none followed).
  bool recovered() const;
  const std::string& topic() const { return cfg_.topic; }
  /// The supervisor of the table partitions (for the broker monitor's events).
  const caf::actor& supervisor() const { return supervisor_; }

private:
  struct part {
    std::shared_ptr<partition_store> store;
    std::shared_ptr<table_partition_handle> handle = std::make_shared<table_partition_handle>();
    std::shared_ptr<partition_flow> flow;
    caf::actor actor;
    bool paused = false;
    bool down = false;
  };
  /// What other threads ask of the follower's thread. Shared with the supervisor's hooks,
  /// which may outlive the follower.
  struct request {
    enum kind_t { follow, release, down, restart } kind;
    std::vector<int32_t> partitions;
    bool done = false;
  };
  struct request_queue {
    std::mutex mtx;
    std::condition_variable served;
    std::vector<std::shared_ptr<request>> items;
    bool closed = false;
  };

  void run();
  /// Runs `r` on the follower's thread and waits for it (or queues it: `wait` false).
  void ask(request::kind_t kind, std::vector<int32_t> partitions, bool wait);
  void serve_requests();
  void start(int32_t p);
  void stop(int32_t p);
  /// A fresh actor for p (its store opened if it is not), watched by the supervisor; returns
  /// the offset where following resumes.
  int64_t spawn_actor(int32_t p, part& pt);
  void restart(int32_t p);
  void dispatch(rd_kafka_message_t** msgs, size_t n);
  void apply_back_pressure();
  void update_ends();
  void pause(int32_t p, part& pt, bool paused);
  static void push(request_queue& q, std::shared_ptr<request> r);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);

  caf::actor_system& sys_;
  follower_config cfg_;
  std::shared_ptr<spdlog::logger> log_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  caf::actor supervisor_;
  std::unique_ptr<caf::scoped_actor> self_; // the follower thread's, for asking actors
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_; // guards parts_ against readers on other threads
  std::map<int32_t, part> parts_;
  std::shared_ptr<request_queue> requests_ = std::make_shared<request_queue>();
  std::thread thread_;
};

} // namespace partita
