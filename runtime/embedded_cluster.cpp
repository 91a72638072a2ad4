#include "runtime/embedded_cluster.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
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

/// Checks a command's answer, then lets the mock's thread finish its round before the next
/// command. librdkafka 2.0.2's mock answers a command while serving its queue and only then
/// drains its wake-up pipe: a command sent in between loses its wake-up and waits for the
/// mock's next poll timeout (1 s) when no client keeps it busy. Back-to-back commands on an
/// idle cluster (a topic's leaders, one per partition) took a second each that way: 256
/// partitions' topics minutes, 4,096 hours.
void command(rd_kafka_resp_err_t code, const std::string& what) {
    check(code, what);
  std::this_thread::sleep_for(std::chrono::microseconds{200});
}

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

embedded_cluster::embedded_cluster(int brokers, election_settings elections)
    : brokers_(brokers), controller_(std::max(brokers, 1), elections) {
  if (brokers < 1)
    throw std::invalid_argument("an embedded cluster needs at least one broker");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only keeps the cluster's books; it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  // PARTITA_MOCK_DEBUG=mock (or mock,protocol,...) prints the mock's own trace on stderr: what
  // each broker answered, and its groups' states.
  if (const char* debug = std::getenv("PARTITA_MOCK_DEBUG"); debug != nullptr && *debug != 0) {
    rd_kafka_conf_set(conf, "log_level", "7", err, sizeof err);
    rd_kafka_conf_set(conf, "debug", debug, err, sizeof err);
  }
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
  logger("cluster")->info("embedded cluster with {} brokers at {}; elections {}", brokers,
                          bootstrap_servers(),
                          elections.enabled
                            ? fmt::format("on (crash noticed after {} ms, by coordinators "
                                          "after {} ms, preferred leaders back after {} ms)",
                                          elections.detection_delay.count(),
                                          elections.coordinator_detection_delay.count(),
                                          elections.preferred_leader_delay.count())
                            : std::string{"off"});
  thread_ = std::thread{[this] { run_controller(); }};
}

embedded_cluster::~embedded_cluster() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string embedded_cluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

embedded_cluster::millis embedded_cluster::now() const {
  return std::chrono::duration_cast<millis>(std::chrono::steady_clock::now() - started_);
}

void embedded_cluster::check_broker(int32_t broker, bool allow_all) const {
  if ((allow_all && broker == -1) || (broker >= 1 && broker <= brokers_))
    return;
  throw std::invalid_argument("no broker " + std::to_string(broker) + " (brokers are 1.." +
                              std::to_string(brokers_) + ")");
}

void embedded_cluster::check_target(int32_t broker) const {
  check_broker(broker, true);
  if (broker != -1 && !controller_.up(broker))
    throw std::invalid_argument("broker " + std::to_string(broker) +
                                " is down; a leader or coordinator must be a broker that is up");
}

void embedded_cluster::apply(const std::vector<leadership>& changed) {
  if (changed.empty())
    return;
  std::string moves;
  for (const auto& l : changed) {
    if (!l.group.empty()) {
      // The mock asserts on a coordinator it cannot find: a group with no replica up keeps its
      // (unreachable) coordinator, which clients see the same way.
      if (l.leader != -1)
        command(rd_kafka_mock_coordinator_set(cluster_, "group", l.group.c_str(), l.leader),
                "move coordinator of " + l.group);
    } else {
      command(rd_kafka_mock_partition_set_leader(cluster_, l.topic.c_str(), l.partition, l.leader),
              "move leader of " + l.name());
    }
    moves += fmt::format(" {}→{}", l.name(), l.leader == -1 ? "none" : std::to_string(l.leader));
  }
  logger("cluster")->info("controller:{}", moves);
}

void embedded_cluster::run_controller() {
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    wake_.wait_for(lock, millis{50});
    if (stopping_)
      break;
    try {
      apply(controller_.tick(now()));
    } catch (const std::exception& e) {
      logger("cluster")->error("controller: {}", e.what());
    }
    std::vector<step> due;
    auto t = now();
    auto first_later = std::stable_partition(steps_.begin(), steps_.end(),
                                             [&](const step& s) { return s.at <= t; });
    std::move(steps_.begin(), first_later, std::back_inserter(due));
    steps_.erase(steps_.begin(), first_later);
    std::stable_sort(due.begin(), due.end(),
                     [](const step& a, const step& b) { return a.at < b.at; });
    running_ = due.size();
    lock.unlock();
    for (auto& s : due) {
      logger("cluster")->warn("step: {}", s.what);
      try {
        s.action();
      } catch (const std::exception& e) {
        logger("cluster")->error("step {}: {}", s.what, e.what());
      }
      std::lock_guard<std::mutex> guard{mutex_};
      --running_;
    }
    lock.lock();
  }
}

void embedded_cluster::create_topic(const std::string& topic, int partitions,
                                    int replication_factor) {
  if (partitions < 1)
    throw std::invalid_argument("topic " + topic + ": partitions must be at least 1");
  if (replication_factor < 1 || replication_factor > brokers_)
    throw std::invalid_argument("topic " + topic + ": replication factor must be 1.." +
                                std::to_string(brokers_));
  std::lock_guard<std::mutex> guard{mutex_};
  command(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication_factor),
          "create topic " + topic);
  apply(controller_.add_topic(topic, partitions, replication_factor, now()));
  for (std::string_view suffix : {"-table", "-dlq", "-timers", "-windows"})
    if (topic.size() > suffix.size() && topic.compare(topic.size() - suffix.size(),
                                                      suffix.size(), suffix) == 0)
      apply(controller_.add_group(topic.substr(0, topic.size() - suffix.size()), now()));
}

void embedded_cluster::add_group(const std::string& group) {
  std::lock_guard<std::mutex> guard{mutex_};
  apply(controller_.add_group(group, now()));
}

void embedded_cluster::broker_down(int32_t broker) {
  check_broker(broker, false);
  std::lock_guard<std::mutex> guard{mutex_};
  command(rd_kafka_mock_broker_set_down(cluster_, broker), "broker down");
  controller_.broker_crashed(broker, now());
  apply(controller_.tick(now())); // what moves at once (its coordinators, by default)
}

void embedded_cluster::broker_up(int32_t broker) {
  check_broker(broker, false);
  std::lock_guard<std::mutex> guard{mutex_};
  command(rd_kafka_mock_broker_set_up(cluster_, broker), "broker up");
  apply(controller_.broker_started(broker, now()));
}

void embedded_cluster::broker_stop(int32_t broker) {
  check_broker(broker, false);
  std::lock_guard<std::mutex> guard{mutex_};
  apply(controller_.broker_stopping(broker, now()));
  command(rd_kafka_mock_broker_set_down(cluster_, broker), "broker down");
}

void embedded_cluster::broker_restart(int32_t broker, millis down_for) {
  broker_stop(broker);
  schedule(down_for, "broker " + std::to_string(broker) + " back after its restart",
           [this, broker] { broker_up(broker); });
}

void embedded_cluster::rolling_restart(millis down_for, millis pause) {
  for (int32_t b = 1; b <= brokers_; ++b) {
    auto at = (down_for + pause) * (b - 1);
    auto name = "rolling restart: broker " + std::to_string(b);
    schedule(at, name + " stops", [this, b] { broker_stop(b); });
    schedule(at + down_for, name + " is back", [this, b] { broker_up(b); });
  }
}

void embedded_cluster::move_leader(const std::string& topic, int32_t partition,
                                   int32_t broker) {
  std::lock_guard<std::mutex> guard{mutex_};
  check_target(broker);
  // The mock would create an unknown topic (with partition + 1 partitions) and does not check
  // a negative partition: both are refused first.
  controller_.check_partition(topic, partition);
  command(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker),
          "move leader of " + topic + "/" + std::to_string(partition));
  controller_.set_leader(topic, partition, broker);
}

void embedded_cluster::move_coordinator(const std::string& group, int32_t broker) {
  if (broker == -1)
    throw std::invalid_argument("a group always has a coordinator: name a broker 1.." +
                                std::to_string(brokers_));
  std::lock_guard<std::mutex> guard{mutex_};
  check_target(broker);
  command(rd_kafka_mock_coordinator_set(cluster_, "group", group.c_str(), broker),
          "move coordinator of " + group);
  controller_.set_coordinator(group, broker, now());
}

void embedded_cluster::push_request_errors(int16_t api_key, rd_kafka_resp_err_t error,
                                           std::size_t count) {
  if (api_key < 0)
    throw std::invalid_argument("invalid API key " + std::to_string(api_key));
  std::vector<rd_kafka_resp_err_t> errors(count, error);
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, count, errors.data());
}

void embedded_cluster::push_broker_request_errors(int32_t broker, int16_t api_key,
                                                  rd_kafka_resp_err_t error, std::size_t count) {
  check_broker(broker, false);
  if (api_key < 0)
    throw std::invalid_argument("invalid API key " + std::to_string(api_key));
  for (std::size_t i = 0; i < count; ++i)
    command(rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker, api_key, 1, error, 0),
            "push request errors");
}

std::size_t embedded_cluster::broker_request_errors_left(int32_t broker, int16_t api_key) const {
  check_broker(broker, false);
  std::size_t left = 0;
  command(rd_kafka_mock_broker_error_stack_cnt(cluster_, broker, api_key, &left),
          "count request errors");
  return left;
}

void embedded_cluster::set_rtt(int32_t broker, int ms) {
  check_broker(broker, true);
  if (ms < 0)
    throw std::invalid_argument("round-trip time must not be negative");
  command(rd_kafka_mock_broker_set_rtt(cluster_, broker, ms), "set rtt");
}

void embedded_cluster::schedule(millis delay, std::string what, std::function<void()> action) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    steps_.push_back(step{now() + delay, std::move(what), std::move(action)});
  }
  wake_.notify_all();
}

std::size_t embedded_cluster::pending() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return steps_.size() + running_;
}

embedded_cluster::books embedded_cluster::snapshot() const {
  std::lock_guard<std::mutex> guard{mutex_};
  books out;
  for (int32_t b = 1; b <= brokers_; ++b)
    out.up.push_back(controller_.up(b));
  out.leaderships = controller_.leaderships();
  return out;
}

} // namespace partita
