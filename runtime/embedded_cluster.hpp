#pragma once

#include "runtime/cluster_controller.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

struct rd_kafka_mock_cluster_s;

namespace partita {

/// An in-process Kafka cluster over real TCP (librdkafka's mock cluster), for demos, local
/// development and tests, with a controller that elects leaders the way Kafka's does (see
/// cluster_controller) and fault injection. Brokers are numbered 1..N. Owns the cluster;
/// destroying it closes every listener. Thread-safe.
class embedded_cluster {
public:
  using millis = std::chrono::milliseconds;

  explicit embedded_cluster(int brokers = 3, election_settings elections = {});
  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;
  ~embedded_cluster();

  /// The `host:port,...` list a client bootstraps from.
  std::string bootstrap_servers() const;
  int brokers() const { return brokers_; }
  const election_settings& elections() const { return controller_.settings(); }

  /// Creates a topic (the mock has no Admin API). Fails if it exists with other settings.
  /// A topic named `<group>-table` or `<group>-dlq` makes the controller keep `<group>`'s
  /// coordinator too (every Partita group has them).
  void create_topic(const std::string& topic, int partitions, int replication_factor = 1);
  /// Makes the controller keep a group's coordinator (move it off a broker that fails).
  void add_group(const std::string& group);

  // --- broker faults --------------------------------------------------------------------
  /// A crash: the broker drops its connections and refuses new ones; after the detection
  /// delay its leaderships move to other replicas (with elections on).
  void broker_down(int32_t broker);
  /// The broker comes back as a follower; its preferred leaderships return after a delay.
  void broker_up(int32_t broker);
  /// A controlled shutdown: leaderships move first, then the broker goes down.
  void broker_stop(int32_t broker);
  /// Controlled shutdown now, back up after `down_for`.
  void broker_restart(int32_t broker, millis down_for);
  /// Every broker in turn, as a managed service patches a cluster: each is stopped, back after
  /// `down_for`, and the next one follows `pause` later. Returns when the last is scheduled.
  void rolling_restart(millis down_for, millis pause);

  // --- other faults ---------------------------------------------------------------------
  /// Makes `broker` (up) the leader of a partition of a topic this cluster created (-1:
  /// leaderless until moved again).
  void move_leader(const std::string& topic, int32_t partition, int32_t broker);
  /// Makes `broker` (up) the coordinator of a consumer group.
  void move_coordinator(const std::string& group, int32_t broker);
  /// Fails the next `count` requests of an API (Kafka API key) with `error`.
  void push_request_errors(int16_t api_key, rd_kafka_resp_err_t error, std::size_t count);
  /// Fails the next `count` requests of an API that reach `broker` with `error`.
  void push_broker_request_errors(int32_t broker, int16_t api_key, rd_kafka_resp_err_t error,
                                  std::size_t count);
  /// How many of the errors pushed onto `broker` for an API no request has taken yet.
  std::size_t broker_request_errors_left(int32_t broker, int16_t api_key) const;
  /// Delays every response of a broker (-1: all brokers) by `ms` milliseconds.
  void set_rtt(int32_t broker, int ms);

  // --- time and books -------------------------------------------------------------------
  /// Runs `action` on the controller's thread `delay` from now (a fault plan's later steps).
  /// `what` names it in the log.
  void schedule(millis delay, std::string what, std::function<void()> action);
  /// Steps scheduled and not yet finished.
  std::size_t pending() const;
  /// The brokers (up or down), each partition's leader and replicas, each group's coordinator.
  struct books {
    std::vector<bool> up; ///< by broker id - 1
    std::vector<leadership> leaderships;
  };
  books snapshot() const;

private:
  struct step {
    millis at;
    std::string what;
    std::function<void()> action;
  };
  /// Broker 1..N, or -1 ("all") where `allow_all`.
  void check_broker(int32_t broker, bool allow_all) const;
  /// A broker to lead or coordinate: up, or -1 (none). Caller holds mutex_.
  void check_target(int32_t broker) const;
  millis now() const;
  /// Tells the brokers what the controller decided. Caller holds mutex_.
  void apply(const std::vector<leadership>& changed);
  void run_controller();

  int brokers_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  cluster_controller controller_;
  std::vector<step> steps_;
  std::size_t running_ = 0; ///< steps taken off steps_ and not yet finished
  std::thread thread_;
};

/// A Kafka API key by its protocol name ("Produce", "Fetch", "OffsetCommit", ...), or -1.
int16_t api_key_by_name(std::string_view name);

/// A librdkafka error code by its name ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT", ...), or
/// RD_KAFKA_RESP_ERR__END when there is no such name.
rd_kafka_resp_err_t error_by_name(std::string_view name);

} // namespace partita
