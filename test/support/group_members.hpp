#pragma once

// Members of a group run as processes of their own, and a steady load on their input, for the
// fault tests of several processes (test/actors/group_faults.cpp, timer_faults.cpp).

#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_producer.hpp"
#include "test/support/child_process.hpp"
#include "test/support/kafka_client.hpp"

#include <caf/test/unit_test.hpp>

#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace partita::test {

/// One member of a group: a process on a state directory of its own, started again on the
/// same directory after each kill.
struct member {
  member(std::string name, std::filesystem::path state)
      : name(std::move(name)), state(std::move(state)) {}
  std::string name;
  std::filesystem::path state;
  int port = free_port();
  std::unique_ptr<child_process> proc;
  int runs = 0;
  /// stderr of every run so far.
  std::string logs;

  std::string log() const { return logs + (proc ? proc->err() : ""); }

  /// Starts `binary` with `args`, its output in `<dir>/<name>-<run>`.
  void start(const std::string& binary, const std::vector<std::string>& args,
             const std::filesystem::path& dir, const std::vector<std::string>& env = {}) {
    if (proc)
      logs += proc->err();
    proc = std::make_unique<child_process>(binary, args,
                                           (dir / (name + "-" + std::to_string(runs++))).string(),
                                           env);
  }

  /// Ends the member with `sig` and waits for it to be gone.
  void end(int sig) {
    proc->signal(sig);
    CAF_CHECK_NOT_EQUAL(proc->wait(40000), -1);
  }

  /// Partitions of the group this member reports running in /metrics (not those of the
  /// tables it follows); with `table`, the partitions of that followed table.
  int running_partitions(const std::string& table = {}) const {
    httplib::Client http{"127.0.0.1", port};
    auto res = http.Get("/metrics");
    if (!res || res->status != 200)
      return -1;
    std::istringstream lines{res->body};
    std::string line;
    int n = 0;
    auto of_table = table.empty() ? std::string{"table=\""} : "table=\"" + table + "\"";
    while (std::getline(lines, line))
      if (line.starts_with("partita_partition_state{") &&
          (line.find(of_table) != std::string::npos) == !table.empty() &&
          line.find("state=\"running\"} 1") != std::string::npos)
        ++n;
    return n;
  }
};

/// A group's test bench: a 3-broker embedded cluster with `topics` (`partitions` each), and
/// members a, b and c, each on a state directory of its own under `dir`, removed at the end.
struct group_lab {
  group_lab(const std::string& name, const std::vector<std::string>& topics, int partitions)
      : dir(std::filesystem::temp_directory_path() /
            ("partita-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const auto& topic : topics)
      cluster.create_topic(topic, partitions, 3);
    for (const char* m : {"a", "b", "c"})
      members.emplace_back(m, dir / m);
  }
  ~group_lab() {
    members.clear(); // kills what still runs
    if (!std::getenv("PARTITA_KEEP_TEST_DIR"))
      std::filesystem::remove_all(dir);
  }

  std::filesystem::path dir;
  embedded_cluster cluster{3};
  std::string bootstrap = cluster.bootstrap_servers();
  std::vector<member> members;
};

/// The settings every member of these tests starts with: its cluster, group, state and
/// endpoint, a 6 s session, and a 20 s shutdown.
inline std::vector<std::string> member_args(const member& m, const std::string& bootstrap,
                                            const std::string& group) {
  return {"--brokers",  bootstrap,
          "--group",    group,
          "--state-dir", m.state.string(),
          "--http",     "127.0.0.1:" + std::to_string(m.port),
          "--consumer", "session.timeout.ms=6000",
          "--consumer", "heartbeat.interval.ms=1000",
          "--shutdown-timeout", "20s"};
}

/// Steady load: 200 records over `keys` keys every 100 ms to `topic`, on a thread of its own,
/// through one producer (a client per chunk would take ephemeral ports, which a mock broker
/// coming back up needs to bind again). Record n's value is `value(n)`, "click" without it.
class steady_load {
public:
  steady_load(std::string bootstrap, std::string topic, int keys, std::string prefix = "user-",
              std::function<std::string(int64_t)> value = {})
    : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)), keys_(keys),
      prefix_(std::move(prefix)), value_(std::move(value)) {}
  ~steady_load() { stop(); }

  void start() {
    running_ = true;
    thread_ = std::thread{[this] {
      kafka_producer producer{{{"bootstrap.servers", bootstrap_}}};
      auto next = std::chrono::steady_clock::now();
      while (running_) {
        for (int64_t i = produced_, end = i + 200; i < end; ++i)
          producer.produce(topic_, -1, prefix_ + std::to_string(i % keys_),
                           value_ ? value_(i) : "click", nullptr);
        producer.flush(std::chrono::seconds{60});
        produced_ += 200;
        next += std::chrono::milliseconds{100};
        std::this_thread::sleep_until(next); // the load's pace
      }
    }};
  }

  void stop() {
    running_ = false;
    if (thread_.joinable())
      thread_.join();
  }

  int64_t produced() const { return produced_; }

private:
  std::string bootstrap_;
  std::string topic_;
  int keys_;
  std::string prefix_;
  std::function<std::string(int64_t)> value_;
  std::atomic<bool> running_{false};
  std::atomic<int64_t> produced_{0};
  std::thread thread_;
};

/// The group's committed offsets of `topic` summed, and whether they reach its end.
inline int64_t committed_total(const std::string& bootstrap, const std::string& group,
                               const std::string& topic, int partitions) {
  int64_t sum = 0;
  for (auto o : committed(bootstrap, group, topic, partitions))
    sum += std::max<int64_t>(o, 0);
  return sum;
}

inline bool all_committed(const std::string& bootstrap, const std::string& group,
                          const std::string& topic, int partitions) {
  auto c = committed(bootstrap, group, topic, partitions);
  for (int p = 0; p < partitions; ++p)
    if (c[static_cast<size_t>(p)] != watermarks(bootstrap, topic, p).second)
      return false;
  return true;
}

} // namespace partita::test
