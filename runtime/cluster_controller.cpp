#include "runtime/cluster_controller.hpp"

#include <algorithm>
#include <stdexcept>

namespace partita {

namespace {

/// FNV-1a: a group's replicas start at the same broker in every run.
std::size_t stable_hash(const std::string& s) {
  std::size_t h = 1469598103934665603ull;
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

/// Puts `broker` first in the assignment: the preferred leader, as a reassignment makes it.
void make_preferred(leadership& l, int32_t broker) {
  l.replicas.erase(std::remove(l.replicas.begin(), l.replicas.end(), broker), l.replicas.end());
  l.replicas.insert(l.replicas.begin(), broker);
}

} // namespace

std::string leadership::name() const {
  return group.empty() ? topic + "/" + std::to_string(partition) : "group " + group;
}

cluster_controller::cluster_controller(int brokers, election_settings settings)
    : settings_(settings), up_(static_cast<std::size_t>(brokers), true),
      since_(static_cast<std::size_t>(brokers), millis{0}) {
  if (brokers < 1)
    throw std::invalid_argument("a cluster needs at least one broker");
  if (settings.detection_delay.count() < 0 || settings.coordinator_detection_delay.count() < 0 ||
      settings.preferred_leader_delay.count() < 0)
    throw std::invalid_argument("election delays must not be negative");
}

bool cluster_controller::up(int32_t broker) const {
  return broker >= 1 && broker <= brokers() && up_[static_cast<std::size_t>(broker - 1)];
}

void cluster_controller::check_broker(int32_t broker, bool allow_none) const {
  if ((allow_none && broker == -1) || (broker >= 1 && broker <= brokers()))
    return;
  throw std::invalid_argument("no broker " + std::to_string(broker) + " (brokers are 1.." +
                              std::to_string(brokers()) + (allow_none ? ", or -1 for none)" : ")"));
}

std::vector<int32_t> cluster_controller::spread(std::size_t start, int count) const {
  std::vector<int32_t> out;
  for (int i = 0; i < count; ++i)
    out.push_back(static_cast<int32_t>((start + static_cast<std::size_t>(i)) % up_.size()) + 1);
  return out;
}

int32_t cluster_controller::first_up(const leadership& l, int32_t except) const {
  for (auto r : l.replicas)
    if (r != except && up(r))
      return r;
  return -1;
}

leadership* cluster_controller::find(const std::string& topic, int32_t partition,
                                     const std::string& group) {
  for (auto& e : entries_)
    if (e.topic == topic && e.partition == partition && e.group == group)
      return &e;
  return nullptr;
}

std::vector<leadership> cluster_controller::add_topic(const std::string& topic, int partitions,
                                                      int replication_factor, millis) {
  if (partitions < 1 || replication_factor < 1 || replication_factor > brokers())
    throw std::invalid_argument("topic " + topic + ": needs partitions >= 1 and a replication "
                                "factor of 1.." + std::to_string(brokers()));
  std::vector<leadership> changed;
  for (int32_t p = 0; p < partitions; ++p) {
    if (find(topic, p, "") != nullptr)
      continue;
    leadership l;
    l.topic = topic;
    l.partition = p;
    l.replicas = spread(static_cast<std::size_t>(p), replication_factor);
    l.leader = first_up(l, -1);
    entries_.push_back(l);
    changed.push_back(l);
  }
  return changed;
}

std::vector<leadership> cluster_controller::add_group(const std::string& group, millis) {
  if (group.empty() || find("", -1, group) != nullptr)
    return {};
  leadership l;
  l.group = group;
  l.replicas = spread(stable_hash(group) % up_.size(), std::min(brokers(), 3));
  l.leader = first_up(l, -1);
  entries_.push_back(l);
  return {l};
}

void cluster_controller::broker_crashed(int32_t broker, millis now) {
  check_broker(broker, false);
  auto i = static_cast<std::size_t>(broker - 1);
  if (!up_[i])
    return;
  up_[i] = false;
  since_[i] = now;
}

std::vector<leadership> cluster_controller::broker_stopping(int32_t broker, millis now) {
  check_broker(broker, false);
  std::vector<leadership> changed;
  if (!up(broker))
    return changed;
  for (auto& e : entries_)
    if (e.leader == broker) {
      auto next = first_up(e, broker);
      // With no other replica up, the leadership goes down with its broker (and comes back
      // with it); without elections nothing would bring an offline one back.
      if (next == -1 && !settings_.enabled)
        continue;
      e.leader = next;
      changed.push_back(e);
    }
  broker_crashed(broker, now);
  return changed;
}

std::vector<leadership> cluster_controller::broker_started(int32_t broker, millis now) {
  check_broker(broker, false);
  auto i = static_cast<std::size_t>(broker - 1);
  std::vector<leadership> changed;
  if (up_[i])
    return changed;
  up_[i] = true;
  since_[i] = now;
  if (!settings_.enabled)
    return changed;
  for (auto& e : entries_)
    if (e.leader == -1 && !e.held_offline &&
        std::find(e.replicas.begin(), e.replicas.end(), broker) != e.replicas.end()) {
      e.leader = broker;
      changed.push_back(e);
    }
  return changed;
}

void cluster_controller::check_partition(const std::string& topic, int32_t partition) const {
  int count = 0;
  for (const auto& e : entries_)
    if (e.group.empty() && e.topic == topic)
      count = std::max(count, e.partition + 1);
  if (count == 0)
    throw std::invalid_argument("no topic " + topic + " (create it first)");
  if (partition < 0 || partition >= count)
    throw std::invalid_argument("topic " + topic + " has partitions 0.." +
                                std::to_string(count - 1));
}

leadership cluster_controller::set_leader(const std::string& topic, int32_t partition,
                                          int32_t broker) {
  check_broker(broker, true);
  check_partition(topic, partition);
  leadership* e = find(topic, partition, "");
  e->held_offline = broker == -1;
  e->leader = broker;
  if (broker != -1)
    make_preferred(*e, broker);
  return *e;
}

leadership cluster_controller::set_coordinator(const std::string& group, int32_t broker,
                                               millis now) {
  check_broker(broker, false);
  add_group(group, now);
  leadership* e = find("", -1, group);
  e->leader = broker;
  make_preferred(*e, broker);
  return *e;
}

std::vector<leadership> cluster_controller::tick(millis now) {
  std::vector<leadership> changed;
  if (!settings_.enabled)
    return changed;
  auto since = [&](int32_t b) { return now - since_[static_cast<std::size_t>(b - 1)]; };
  for (auto& e : entries_) {
    if (e.held_offline)
      continue;
    int32_t next = e.leader;
    auto noticed = e.group.empty() ? settings_.detection_delay
                                   : settings_.coordinator_detection_delay;
    if (e.leader != -1 && !up(e.leader) && since(e.leader) >= noticed)
      next = first_up(e, e.leader);
    else if (e.leader == -1)
      next = first_up(e, -1);
    if (!e.replicas.empty()) {
      auto preferred = e.replicas.front();
      if (next != preferred && up(preferred) && since(preferred) >= settings_.preferred_leader_delay &&
          (next == -1 || up(next)))
        next = preferred;
    }
    if (next != e.leader) {
      e.leader = next;
      changed.push_back(e);
    }
  }
  return changed;
}

} // namespace partita
