#include "actors/broker_monitor.hpp"

#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace partita {

std::vector<broker_event> broker_tracker::update(const cluster_snapshot& now) {
  std::vector<broker_event> events;
  for (auto id : now.brokers) {
    bool up = now.reachable.count(id) > 0;
    auto known = up_.find(id);
    if (known == up_.end()) {
      up_[id] = up; // first sighting: a state, not a transition
      continue;
    }
    if (known->second == up) {
      streak_[id] = 0;
      continue;
    }
    if (++streak_[id] >= confirm_) {
      known->second = up;
      streak_[id] = 0;
      broker_event e{};
      e.kind = up ? broker_event::up : broker_event::down;
      e.broker = id;
      events.push_back(e);
    }
  }
  for (const auto& [tp, leader] : now.leaders) {
    auto [i, fresh] = leaders_.try_emplace(tp, leader);
    if (!fresh && i->second != leader) {
      events.push_back(
        broker_event{broker_event::leader, -1, tp.first, tp.second, i->second, leader});
      i->second = leader;
    }
  }
  return events;
}

caf::behavior broker_monitor(caf::stateful_actor<broker_monitor_state>* self,
                             std::shared_ptr<metrics> figures) {
  self->state.log = logger("brokers");
  self->state.figures = std::move(figures);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) { return a.address() == msg.source; }),
               subs.end());
  });
  return {
    [=](subscribe_atom, const caf::actor& subscriber) {
      self->monitor(subscriber);
      self->state.subscribers.push_back(subscriber);
    },
    [=](snapshot_atom, const cluster_snapshot_ptr& snapshot) {
      auto& st = self->state;
      auto events = st.tracker.update(*snapshot);
      for (const auto& [tp, leader] : snapshot->leaders)
        st.figures->gauge("partita_partition_leader",
                          "Broker leading each watched partition (-1: none).",
                          {{"partition", std::to_string(tp.second)}, {"topic", tp.first}}) =
          leader;
      for (auto broker : snapshot->brokers)
        st.figures->gauge("partita_broker_up",
                          "1 while a broker accepts connections, 0 while it is down.",
                          {{"broker", std::to_string(broker)}}) = st.tracker.up(broker) ? 1 : 0;
      auto& changes = st.figures->counter("partita_leader_changes_total",
                                          "Partition leaders seen moving to another broker.");
      for (const auto& e : events) {
        switch (e.kind) {
          case broker_event::down:
            st.log->warn("broker {} is down", e.broker);
            for (const auto& s : st.subscribers)
              self->send(s, broker_down_atom::value, e.broker);
            break;
          case broker_event::up:
            st.log->info("broker {} is up", e.broker);
            for (const auto& s : st.subscribers)
              self->send(s, broker_up_atom::value, e.broker);
            break;
          case broker_event::leader:
            st.log->info("[{}/{}] leader moved {} -> {}", e.topic, e.partition, e.from, e.to);
            ++changes;
            for (const auto& s : st.subscribers)
              self->send(s, leader_atom::value, e.topic, e.partition, e.from, e.to);
            break;
        }
      }
    },
  };
}

namespace {

/// True when a TCP connection to host:port opens within `timeout`.
bool reachable(const char* host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host, std::to_string(port).c_str(), &hints, &res) != 0)
    return false;
  bool ok = false;
  for (auto* ai = res; ai != nullptr && !ok; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

} // namespace

broker_poller::broker_poller(kafka_properties kafka, std::vector<std::string> topics,
                             caf::actor monitor, std::chrono::milliseconds interval,
                             std::vector<rd_kafka_t*> clients)
    : clients_(std::move(clients)) {
  thread_ = std::thread{[this, kafka = std::move(kafka), topics = std::move(topics),
                         monitor = std::move(monitor), interval]() mutable {
    run(std::move(kafka), std::move(topics), std::move(monitor), interval);
  }};
}

broker_poller::~broker_poller() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

void broker_poller::refresh_clients(const std::set<std::string>& topics,
                                    std::chrono::milliseconds timeout) {
  for (auto* client : clients_)
    for (const auto& t : topics) {
      auto* handle = rd_kafka_topic_new(client, t.c_str(), nullptr);
      if (handle == nullptr)
        continue;
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(client, 0, handle, &md, static_cast<int>(timeout.count())) == 0)
        rd_kafka_metadata_destroy(md);
      rd_kafka_topic_destroy(handle);
    }
}

void broker_poller::run(kafka_properties kafka, std::vector<std::string> topics,
                        caf::actor monitor, std::chrono::milliseconds interval) {
  auto log = logger("brokers");
  kafka_properties defaults{{"log_level", "0"}};
  rd_kafka_t* rk = nullptr;
  try {
    rk = new_client(RD_KAFKA_PRODUCER, make_kafka_conf(defaults, kafka),
                    "the broker monitor's client");
  } catch (const std::exception& e) {
    log->error("broker monitor not started: {}", e.what());
    return;
  }
  std::vector<rd_kafka_topic_t*> handles;
  for (const auto& t : topics)
    handles.push_back(rd_kafka_topic_new(rk, t.c_str(), nullptr));
  // Every broker seen in metadata, to probe when no broker answers a metadata request.
  std::map<int32_t, std::pair<std::string, int>> known;
  std::map<std::pair<std::string, int32_t>, int32_t> last_leaders;
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    auto snapshot = std::make_shared<cluster_snapshot>();
    bool complete = true;
    for (auto* topic : handles) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(rk, 0, topic, &md, static_cast<int>(interval.count()) + 500) != 0) {
        complete = false;
        break;
      }
      for (int b = 0; b < md->broker_cnt; ++b) {
        auto& broker = md->brokers[b];
        known[broker.id] = {broker.host, broker.port};
        if (snapshot->brokers.insert(broker.id).second &&
            reachable(broker.host, broker.port, interval))
          snapshot->reachable.insert(broker.id);
      }
      for (int t = 0; t < md->topic_cnt; ++t)
        for (int p = 0; p < md->topics[t].partition_cnt; ++p)
          snapshot->leaders[{md->topics[t].topic, md->topics[t].partitions[p].id}] =
            md->topics[t].partitions[p].leader;
      rd_kafka_metadata_destroy(md);
    }
    if (!complete) {
      // No metadata (every broker may be down): the known brokers' state, leaders unknown.
      snapshot = std::make_shared<cluster_snapshot>();
      for (const auto& [id, address] : known) {
        snapshot->brokers.insert(id);
        if (reachable(address.first.c_str(), address.second, interval))
          snapshot->reachable.insert(id);
      }
    }
    std::set<std::string> moved;
    if (complete) {
      for (const auto& [tp, leader] : snapshot->leaders) {
        auto it = last_leaders.find(tp);
        if (it != last_leaders.end() && it->second != leader && leader >= 0)
          moved.insert(tp.first);
      }
      last_leaders = snapshot->leaders;
    }
    if (!snapshot->brokers.empty())
      caf::anon_send(monitor, snapshot_atom::value, cluster_snapshot_ptr{std::move(snapshot)});
    // After the snapshot: the monitor's events do not wait for the clients' answers.
    if (!moved.empty() && !stop_)
      refresh_clients(moved, interval);
    next += interval;
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    next = std::max(next, std::chrono::steady_clock::now());
  }
  for (auto* h : handles)
    rd_kafka_topic_destroy(h);
  rd_kafka_destroy(rk);
}

} // namespace partita
