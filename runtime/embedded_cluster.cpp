#include "runtime/embedded_cluster.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <stdexcept>
#include <vector>
#include <utility>

namespace partita {

namespace {

// The Kafka protocol's API keys that fault injection can name.
constexpr std::array<std::pair<std::string_view, int16_t>, 25> api_keys{{
  {"Produce", 0},          {"Fetch", 1},
  {"ListOffsets", 2},      {"Metadata", 3},
  {"OffsetCommit", 8},     {"OffsetFetch", 9},
  {"FindCoordinator", 10}, {"JoinGroup", 11},
  {"Heartbeat", 12},       {"LeaveGroup", 13},
  {"SyncGroup", 14},       {"DescribeGroups", 15},
  {"ListGroups", 16},      {"SaslHandshake", 17},
  {"ApiVersions", 18},     {"CreateTopics", 19},
  {"DeleteTopics", 20},    {"DeleteRecords", 21},
  {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
  {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25},
  {"EndTxn", 26},          {"TxnOffsetCommit", 28},
  {"DescribeConfigs", 32},
}};

} // namespace

int16_t api_key_by_name(std::string_view name) {
  for (auto [n, key] : api_keys)
    if (n == name)
      return key;
  return -1;
}

rd_kafka_resp_err_t error_by_name(std::string_view name) {
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i)
    if (descs[i].name != nullptr && name == descs[i].name)
      return descs[i].code;
  return RD_KAFKA_RESP_ERR__END;
}

embedded_cluster::embedded_cluster(int brokers) : brokers_(brokers) {
  if (brokers < 1)
    throw std::invalid_argument("an embedded cluster needs at least one broker");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only keeps the cluster's books; it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string{"cannot create the embedded cluster: "} + err);
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("cannot create the embedded cluster (no free ports?)");
  }
  logger("cluster")->info("embedded cluster with {} brokers at {}", brokers,
                          bootstrap_servers());
}

embedded_cluster::~embedded_cluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string embedded_cluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

void embedded_cluster::check_broker(int32_t broker) const {
  if (broker != -1 && (broker < 1 || broker > brokers_))
    throw std::invalid_argument("no broker " + std::to_string(broker) + " (brokers are 1.." +
                                std::to_string(brokers_) + ")");
}

void embedded_cluster::create_topic(const std::string& topic, int partitions,
                                    int replication_factor) {
  if (partitions < 1)
    throw std::invalid_argument("topic " + topic + ": partitions must be at least 1");
  if (replication_factor < 1 || replication_factor > brokers_)
    throw std::invalid_argument("topic " + topic + ": replication factor must be 1.." +
                                std::to_string(brokers_));
  check(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication_factor),
        "create topic " + topic);
}

void embedded_cluster::broker_down(int32_t broker) {
  check_broker(broker);
  check(rd_kafka_mock_broker_set_down(cluster_, broker), "broker down");
}

void embedded_cluster::broker_up(int32_t broker) {
  check_broker(broker);
  check(rd_kafka_mock_broker_set_up(cluster_, broker), "broker up");
}

void embedded_cluster::move_leader(const std::string& topic, int32_t partition,
                                   int32_t broker) {
  check_broker(broker);
  check(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker),
        "move leader of " + topic + "/" + std::to_string(partition));
}

void embedded_cluster::move_coordinator(const std::string& group, int32_t broker) {
  check_broker(broker);
  check(rd_kafka_mock_coordinator_set(cluster_, "group", group.c_str(), broker),
        "move coordinator of " + group);
}

void embedded_cluster::push_request_errors(int16_t api_key, rd_kafka_resp_err_t error,
                                           std::size_t count) {
  if (api_key < 0)
    throw std::invalid_argument("invalid API key " + std::to_string(api_key));
  std::vector<rd_kafka_resp_err_t> errors(count, error);
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, count, errors.data());
}

void embedded_cluster::set_rtt(int32_t broker, int ms) {
  check_broker(broker);
  if (ms < 0)
    throw std::invalid_argument("round-trip time must not be negative");
  check(rd_kafka_mock_broker_set_rtt(cluster_, broker, ms), "set rtt");
}

} // namespace partita
