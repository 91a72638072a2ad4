#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace partita {

/// How the embedded cluster's controller elects leaders.
struct election_settings {
  /// Off: a broker that goes down keeps leading its partitions (librdkafka's mock as it is).
  bool enabled = true;
  /// How long a crash goes unnoticed (a real controller waits for the broker's session to end).
  std::chrono::milliseconds detection_delay{2000};
  /// The same for a crashed broker's group coordinators; at once by default. A real cluster's
  /// new coordinator gives every member a fresh session when it loads the group; librdkafka
  /// 2.0.2's mock keeps one group for all its brokers and lets the members' sessions run on
  /// while they cannot reach it, so a delayed move expires members that are alive, and the
  /// mock then hands their ids (heap addresses) to new members: two members with one id abort
  /// the process (docs/faults.md).
  std::chrono::milliseconds coordinator_detection_delay{0};
  /// How long a broker that came back follows before it leads its preferred partitions again
  /// (Kafka's auto.leader.rebalance.enable).
  std::chrono::milliseconds preferred_leader_delay{10000};
};

/// One leadership: a partition of a topic, or a consumer group's coordinator (which Kafka keeps
/// as the leader of a partition of __consumer_offsets, and so treats the same way).
struct leadership {
  std::string topic; ///< empty for a group
  int32_t partition = -1;
  std::string group; ///< empty for a partition
  /// Assignment order; the first is the preferred leader.
  std::vector<int32_t> replicas;
  int32_t leader = -1; ///< -1: offline (no replica up, or asked for)
  /// Set by a request for no leader; the controller leaves the leadership offline until another
  /// request names a leader.
  bool held_offline = false;

  std::string name() const;
};

/// The embedded cluster's controller: which broker leads each partition and coordinates each
/// group, through crashes, controlled shutdowns and returns. It only keeps books and decides;
/// the caller applies what it returns to the brokers. Time is passed in, so a test runs it in
/// virtual time. Not thread-safe.
class cluster_controller {
public:
  using millis = std::chrono::milliseconds;

  cluster_controller(int brokers, election_settings settings);

  const election_settings& settings() const { return settings_; }
  int brokers() const { return static_cast<int>(up_.size()); }
  bool up(int32_t broker) const;

  /// Assigns a new topic's replicas the way Kafka spreads them (partition p starts at broker
  /// p mod N + 1) and leads each partition from its first replica that is up.
  std::vector<leadership> add_topic(const std::string& topic, int partitions,
                                    int replication_factor, millis now);
  /// Starts keeping a group's coordinator (once; later calls change nothing).
  std::vector<leadership> add_group(const std::string& group, millis now);

  /// A crash: the broker's leaderships move after the detection delay, its coordinators after
  /// theirs (see tick).
  void broker_crashed(int32_t broker, millis now);
  /// A controlled shutdown: the broker's leaderships move now, before it goes down.
  std::vector<leadership> broker_stopping(int32_t broker, millis now);
  /// The broker is back, as a follower. Offline leaderships it holds a replica of come back now.
  std::vector<leadership> broker_started(int32_t broker, millis now);

  /// Throws std::invalid_argument unless `topic` is known and has `partition`.
  void check_partition(const std::string& topic, int32_t partition) const;
  /// An operator's move of a leadership (-1: none) of a known partition. The broker becomes
  /// the preferred leader, as a reassignment would make it, so the controller does not move
  /// it back.
  leadership set_leader(const std::string& topic, int32_t partition, int32_t broker);
  leadership set_coordinator(const std::string& group, int32_t broker, millis now);

  /// What is due at `now`: leaderships of brokers down past the detection delay move to their
  /// next replica that is up; preferred leaders up past their delay lead again.
  std::vector<leadership> tick(millis now);

  const std::vector<leadership>& leaderships() const { return entries_; }

private:
  void check_broker(int32_t broker, bool allow_none) const;
  leadership* find(const std::string& topic, int32_t partition, const std::string& group);
  /// The first replica that is up and is not `except`, or -1.
  int32_t first_up(const leadership& l, int32_t except) const;
  std::vector<int32_t> spread(std::size_t start, int count) const;

  election_settings settings_;
  std::vector<bool> up_;          ///< by broker id - 1
  std::vector<millis> since_;     ///< when each broker last went down or came up
  std::vector<leadership> entries_;
};

} // namespace partita
