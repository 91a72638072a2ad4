#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

struct rd_kafka_mock_cluster_s;

namespace partita {

/// An in-process Kafka cluster over real TCP (librdkafka's mock cluster), for demos, local
/// development and tests, with fault injection. Brokers are numbered 1..N.
/// Owns the cluster; destroying it closes every listener.
class embedded_cluster {
public:
  explicit embedded_cluster(int brokers = 3);
  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;
  ~embedded_cluster();

  /// The `host:port,...` list a client bootstraps from.
  std::string bootstrap_servers() const;
  int brokers() const { return brokers_; }

  /// Creates a topic (the mock has no Admin API). Fails if it exists with other settings.
  void create_topic(const std::string& topic, int partitions, int replication_factor = 1);

  // --- fault injection ------------------------------------------------------------------
  /// Disconnects a broker and refuses new connections; leadership does not move.
  void broker_down(int32_t broker);
  void broker_up(int32_t broker);
  /// Makes `broker` the leader of a partition (-1: leaderless).
  void move_leader(const std::string& topic, int32_t partition, int32_t broker);
  /// Makes `broker` the coordinator of a consumer group.
  void move_coordinator(const std::string& group, int32_t broker);
  /// Fails the next `count` requests of an API (Kafka API key) with `error`.
  void push_request_errors(int16_t api_key, rd_kafka_resp_err_t error, std::size_t count);
  /// Delays every response of a broker (-1: all brokers) by `ms` milliseconds.
  void set_rtt(int32_t broker, int ms);

private:
  void check_broker(int32_t broker) const;

  int brokers_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
};

/// A Kafka API key by its protocol name ("Produce", "Fetch", "OffsetCommit", ...), or -1.
int16_t api_key_by_name(std::string_view name);

/// A librdkafka error code by its name ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT", ...), or
/// RD_KAFKA_RESP_ERR__END when there is no such name.
rd_kafka_resp_err_t error_by_name(std::string_view name);

} // namespace partita
