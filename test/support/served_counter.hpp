#pragma once

// A click counter (group "counts" over topic "clicks", 4 partitions) on a one-broker embedded
// cluster, with its HTTP endpoint on a free port: what the HTTP and Prometheus tests look at.

#include "apps/clickcount_graph.hpp"
#include "apps/http_endpoint.hpp"
#include "runtime/embedded_cluster.hpp"

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

namespace partita::test {

struct served_counter {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-http-test-" + std::to_string(::getpid()));
  /// One broker and no elections: with no other replica, an election could only take every
  /// partition offline while the broker is down, and these tests look at what the endpoint
  /// shows of a broker, not at elections.
  static election_settings no_elections() {
    election_settings s;
    s.enabled = false;
    return s;
  }
  embedded_cluster cluster{1, no_elections()};
  std::string bootstrap = cluster.bootstrap_servers();
  std::unique_ptr<processor> proc;
  std::unique_ptr<http_endpoint> endpoint;
  std::thread runner;

  served_counter() {
    std::filesystem::remove_all(dir);
    cluster.create_topic("clicks", 4, 1);
    processor_config cfg;
    cfg.brokers = bootstrap;
    cfg.state_dir = dir;
    cfg.cluster = &cluster;
    proc = std::make_unique<processor>(cfg, apps::clickcount_graph("counts", "clicks"));
    endpoint = std::make_unique<http_endpoint>(
      *proc, http_endpoint_config{"127.0.0.1:0", [](std::string_view v) {
                                    return nlohmann::json(int64_codec{}.decode(v));
                                  },
                                  {}, {}});
  }

  ~served_counter() {
    proc->stop();
    if (runner.joinable())
      runner.join();
    endpoint.reset();
    std::filesystem::remove_all(dir);
  }

  /// Runs the processor on a thread of its own.
  void start() {
    runner = std::thread{[this] { proc->run(); }};
  }

  httplib::Result get(const std::string& path) {
    httplib::Client client{"127.0.0.1", endpoint->port()};
    return client.Get(path.c_str());
  }
};

} // namespace partita::test
