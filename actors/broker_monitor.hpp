#pragma once

#include "actors/messages.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/metrics.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace partita {

/// What the cluster looked like at one poll: the brokers that accept connections and the
/// leader of every partition of the watched topics (-1: none).
struct cluster_snapshot {
  std::set<int32_t> brokers;
  std::set<int32_t> reachable;
  std::map<std::pair<std::string, int32_t>, int32_t> leaders;
};
using cluster_snapshot_ptr = std::shared_ptr<const cluster_snapshot>;

/// One change the monitor reports.
struct broker_event {
  enum kind_t { down, up, leader };
  kind_t kind;
  int32_t broker = -1; // down, up
  std::string topic;   // leader
  int32_t partition = -1;
  int32_t from = -1;
  int32_t to = -1;
  bool operator==(const broker_event&) const = default;
};

/// "broker 2 down", "broker 2 up", "clicks/3 leader 1 -> 2".
inline std::string to_string(const broker_event& e) {
  switch (e.kind) {
    case broker_event::down:
      return "broker " + std::to_string(e.broker) + " down";
    case broker_event::up:
      return "broker " + std::to_string(e.broker) + " up";
    case broker_event::leader:
      break;
  }
  return e.topic + "/" + std::to_string(e.partition) + " leader " + std::to_string(e.from) +
         " -> " + std::to_string(e.to);
}

/// Turns a stream of snapshots into edge-triggered events. A broker's state changes only after
/// `confirm` snapshots in a row agree (debounce); a leader change is reported at once.
class broker_tracker {
public:
  explicit broker_tracker(int confirm = 2) : confirm_(confirm) {}
  std::vector<broker_event> update(const cluster_snapshot& now);

  /// The reported state of `broker` (true for one never seen).
  bool up(int32_t broker) const {
    auto i = up_.find(broker);
    return i == up_.end() || i->second;
  }

private:
  int confirm_;
  std::map<int32_t, bool> up_;     // reported state
  std::map<int32_t, int> streak_;  // snapshots in a row contradicting it
  std::map<std::pair<std::string, int32_t>, int32_t> leaders_;
};

struct broker_monitor_state {
  static inline const char* name = "broker-monitor";
  broker_tracker tracker;
  std::shared_ptr<metrics> figures;
  std::vector<caf::actor> subscribers;
  std::shared_ptr<spdlog::logger> log;
};

/// Broadcasts broker_down_atom, broker_up_atom and leader_atom to its subscribers, one message
/// per transition, from the snapshots a broker_poller sends it.
/// Handles: subscribe_atom (caf::actor), snapshot_atom (cluster_snapshot_ptr), down_msg of a
/// subscriber.
/// Keeps partita_broker_up, partita_partition_leader and partita_leader_changes_total in
/// `figures`.
caf::behavior broker_monitor(caf::stateful_actor<broker_monitor_state>* self,
                             std::shared_ptr<metrics> figures);

/// Polls the cluster's metadata on a thread of its own (blocking librdkafka calls never run on
/// a scheduler thread) and probes each broker with a TCP connect; sends each snapshot to the
/// monitor. Stops in its destructor.
///
/// When a topic's leaders move, it also asks `clients` (the processor's consumer and producer)
/// for that topic's metadata: librdkafka takes new leaders from any metadata response, and
/// left alone a client may learn of a leader elected after a crash only seconds later (its
/// reconnect backoff to the dead broker grows). The clients must outlive the poller.
class broker_poller {
public:
  broker_poller(kafka_properties kafka, std::vector<std::string> topics, caf::actor monitor,
                std::chrono::milliseconds interval = std::chrono::milliseconds{500},
                std::vector<rd_kafka_t*> clients = {});
  broker_poller(const broker_poller&) = delete;
  broker_poller& operator=(const broker_poller&) = delete;
  ~broker_poller();

private:
  void run(kafka_properties kafka, std::vector<std::string> topics, caf::actor monitor,
           std::chrono::milliseconds interval);
  /// Has every client fetch the metadata of `topics`.
  void refresh_clients(const std::set<std::string>& topics, std::chrono::milliseconds timeout);
  std::vector<rd_kafka_t*> clients_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace partita

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(partita::cluster_snapshot_ptr)
