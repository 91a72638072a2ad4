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
          break;
        case partita::control_result::kind::refused:
          log->error("control: {}", result.message);
          break;
        case partita::control_result::kind::quit:
          log->info("control: quit");
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
  app.add_option("--control", control,
                 "named pipe (created if missing) accepting one command per line: down <broker>, "
                 "up <broker>, leader <topic> <partition> <broker>, coordinator <group> <broker>, "
                 "error <api-key-name> <error-name> <count>, rtt <broker> <ms>, quit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
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
    partita::embedded_cluster cluster{brokers};
    for (const auto& s : specs) {
      cluster.create_topic(s.name, s.partitions, s.replication_factor);
      log->info("topic {}: {} partitions, replication factor {}", s.name, s.partitions,
                s.replication_factor);
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
