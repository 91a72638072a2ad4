// partita-cluster: the embedded Kafka cluster as a standalone process, for local development
// and tests. Prints the bootstrap servers on stdout; applies faults from a control pipe.

#include "runtime/cluster_control.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/logger.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

namespace {

struct topic_spec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
};

/// Parses NAME:PARTITIONS[:RF]; returns an error message or "".
std::string parse_topic(const std::string& text, int brokers, topic_spec& out) {
  static const std::regex form{R"(([A-Za-z0-9._-]+):([0-9]+)(?::([0-9]+))?)"};
  std::smatch m;
  if (!std::regex_match(text, m, form))
    return "--topic '" + text + "': expected NAME:PARTITIONS[:RF], e.g. clicks:8:3";
  out.name = m[1];
  out.partitions = std::stoi(m[2]);
  out.replication_factor = m[3].matched ? std::stoi(m[3]) : std::min(brokers, 3);
  if (out.partitions < 1)
    return "--topic '" + text + "': PARTITIONS must be at least 1";
  if (out.replication_factor < 1 || out.replication_factor > brokers)
    return "--topic '" + text + "': RF must be 1.." + std::to_string(brokers) +
           " (the number of brokers)";
  return "";
}

/// One answer on stdout per command: "ok ..." or "error ...". A longer answer (status) gives
/// its lines first and ends with the "ok" line, so a script reads up to "ok" or "error".
void answer(const std::string& verdict, const std::string& text) {
  auto last = text.rfind('\n');
  if (last != std::string::npos)
    std::cout << text.substr(0, last + 1);
  std::cout << verdict << ' ' << (last == std::string::npos ? text : text.substr(last + 1))
            << std::endl;
}

/// Reads commands from a named pipe, one per line, until `stop` is set.
void serve_control(const std::string& path, partita::embedded_cluster& cluster,
                   std::atomic<bool>& stop) {
  auto log = partita::logger("cluster");
  // O_RDWR: opening never blocks waiting for a writer and never sees EOF between writers.
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    log->error("cannot open control pipe {}: {}", path, std::strerror(errno));
    return;
  }
  std::string pending;
  char buf[4096];
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      continue;
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      auto line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      auto result = partita::apply_control_command(cluster, line);
      switch (result.outcome) {
        case partita::control_result::kind::applied:
          log->warn("fault: {}", result.message);
          answer("ok", result.message);
          break;
        case partita::control_result::kind::refused:
          log->error("control: {}", result.message);
          answer("error", result.message);
          break;
        case partita::control_result::kind::quit:
          log->info("control: quit");
          answer("ok", "quit");
          stop = true;
          ::kill(::getpid(), SIGTERM); // wakes the main thread's sigwait
          break;
      }
    }
  }
  ::close(fd);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-cluster: an embedded Kafka cluster (librdkafka's mock brokers over TCP) "
               "for local development and tests"};
  int brokers = 3;
  std::vector<std::string> topics;
  std::string bootstrap_file;
  std::string control;
  app.add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 32));
  app.add_option("--topic", topics, "create a topic: NAME:PARTITIONS[:RF] (repeatable)");
  app.add_option("--bootstrap-file", bootstrap_file,
                 "write the bootstrap servers to this file once listening");
  std::vector<std::string> groups;
  bool no_election = false;
  std::string detection = "2s";
  std::string coordinator_detection = "0s";
  std::string preferred = "10s";
  int64_t chaos_seed = -1;
  std::string chaos_duration = "60s";
  std::string chaos_kinds;
  app.add_option("--group", groups,
                 "a consumer group whose coordinator the controller keeps (repeatable; groups "
                 "with a <group>-table or <group>-dlq topic are kept anyway)");
  app.add_option("--control", control,
                 "named pipe (created if missing) accepting one command per line, answered on "
                 "stdout with 'ok ...' or 'error ...'; " + std::string{partita::control_usage});
  app.add_flag("--no-election", no_election,
               "a broker that goes down keeps leading its partitions (no controller)");
  app.add_option("--detection-delay", detection,
                 "how long a crashed broker goes unnoticed before its leaders move")
    ->capture_default_str();
  app.add_option("--coordinator-detection-delay", coordinator_detection,
                 "the same for its group coordinators (librdkafka 2.0.2's mock can abort on a "
                 "delayed move when several members share a group: docs/faults.md)")
    ->capture_default_str();
  app.add_option("--preferred-leader-delay", preferred,
                 "how long a broker that came back follows before it leads its preferred "
                 "partitions again")
    ->capture_default_str();
  app.add_option("--chaos", chaos_seed, "start a seeded chaos run (see the chaos command)")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--chaos-duration", chaos_duration, "how long the --chaos run lasts")
    ->capture_default_str();
  app.add_option("--chaos-kinds", chaos_kinds,
                 "comma-separated kinds for --chaos: crash, restart, leader, coordinator, "
                 "errors, latency (default: all)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  partita::election_settings elections;
  elections.enabled = !no_election;
  auto duration_option = [](const char* flag, const std::string& text, std::chrono::milliseconds& out) {
    auto d = partita::parse_duration(text);
    if (!d) {
      std::cerr << "partita-cluster: " << flag << " '" << text
                << "': expected a duration such as 500ms, 5s or 2m\n";
      return false;
    }
    out = *d;
    return true;
  };
  std::chrono::milliseconds chaos_length{};
  if (!duration_option("--detection-delay", detection, elections.detection_delay) ||
      !duration_option("--coordinator-detection-delay", coordinator_detection,
                       elections.coordinator_detection_delay) ||
      !duration_option("--preferred-leader-delay", preferred, elections.preferred_leader_delay) ||
      !duration_option("--chaos-duration", chaos_duration, chaos_length))
    return 2;
  std::vector<topic_spec> specs;
  for (const auto& t : topics) {
    topic_spec spec;
    if (auto problem = parse_topic(t, brokers, spec); !problem.empty()) {
      std::cerr << "partita-cluster: " << problem << "\n";
      return 2;
    }
    specs.push_back(spec);
  }
  if (!control.empty()) {
    struct stat st{};
    if (::stat(control.c_str(), &st) == 0) {
      if (!S_ISFIFO(st.st_mode)) {
        std::cerr << "partita-cluster: --control " << control
                  << " exists and is not a named pipe; remove it or choose another path\n";
        return 2;
      }
    } else if (::mkfifo(control.c_str(), 0600) != 0) {
      std::cerr << "partita-cluster: cannot create named pipe " << control << ": "
                << std::strerror(errno) << "\n";
      return 2;
    }
  }

  // Signals are taken by sigwait in the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = partita::logger("cluster");
  try {
    partita::embedded_cluster cluster{brokers, elections};
    for (const auto& s : specs) {
      cluster.create_topic(s.name, s.partitions, s.replication_factor);
      log->info("topic {}: {} partitions, replication factor {}", s.name, s.partitions,
                s.replication_factor);
    }
    for (const auto& g : groups)
      cluster.add_group(g);
    if (chaos_seed >= 0) {
      try {
        log->warn("{}", partita::start_chaos(cluster, static_cast<uint64_t>(chaos_seed),
                                              chaos_length, chaos_kinds));
      } catch (const std::invalid_argument& e) {
        std::cerr << "partita-cluster: --chaos: " << e.what() << "\n";
        return 2;
      }
    }
    auto servers = cluster.bootstrap_servers();
    std::cout << servers << std::endl;
    if (!bootstrap_file.empty()) {
      // Written whole, then renamed: a reader never sees half a line.
      auto tmp = bootstrap_file + ".tmp";
      std::ofstream{tmp} << servers << "\n";
      std::filesystem::rename(tmp, bootstrap_file);
    }
    std::atomic<bool> stop{false};
    std::thread controller;
    if (!control.empty())
      controller = std::thread{[&] { serve_control(control, cluster, stop); }};
    int sig = 0;
    sigwait(&signals, &sig);
    stop = true;
    if (controller.joinable())
      controller.join();
    log->info("stopping ({})", sig == SIGINT ? "SIGINT" : "SIGTERM or quit");
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 1;
  }
  return 0;
}
