#pragma once

// What Goka's examples, ported, share (apps/examples/): where they run, and how they run their
// processors and views in the background. Each example is a plain program of its own folder.

#include "apps/http_endpoint.hpp"
#include "apps/service_options.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/processor.hpp"
#include "runtime/signals.hpp"
#include "runtime/view.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace partita::examples {

/// The cluster an example runs on: the one its --brokers name, or, without --brokers, the
/// embedded cluster (3 brokers) started in-process with the example's topics. On the embedded
/// cluster the state of the example's groups (and views) starts empty, as the cluster does.
class example_cluster {
public:
  example_cluster(const service_settings& settings, const std::vector<std::string>& topics,
                  const std::vector<std::string>& groups, int partitions = 8)
    : cfg_(settings.processor) {
    if (!cfg_.brokers.empty() || cfg_.kafka.contains("bootstrap.servers"))
      return;
    cluster_ = std::make_unique<embedded_cluster>(3);
    for (const auto& t : topics)
      cluster_->create_topic(t, partitions, 3);
    cfg_.cluster = cluster_.get();
    cfg_.brokers = cluster_->bootstrap_servers();
    for (const auto& g : groups)
      std::filesystem::remove_all(cfg_.state_dir / g);
    std::filesystem::remove_all(cfg_.state_dir / "views");
  }

  /// The embedded cluster, or nullptr when --brokers names another.
  embedded_cluster* embedded() const { return cluster_.get(); }
  /// The processor settings of the command line, on this cluster.
  const processor_config& processor_settings() const { return cfg_; }
  const std::string& brokers() const { return cfg_.brokers; }
  view_config view_settings() const {
    view_config vc;
    vc.brokers = cfg_.brokers;
    vc.kafka = cfg_.kafka;
    vc.state_dir = cfg_.state_dir / "views";
    return vc;
  }

private:
  processor_config cfg_;
  std::unique_ptr<embedded_cluster> cluster_;
};

/// Runs something with run()/stop() (a processor, a view) on a thread of its own; stops it and
/// waits for it when it goes out of scope. When run() fails, prints why and sets `stop`.
template <class T>
class background {
public:
  background(T& runner, std::atomic<bool>& stop)
    : runner_(runner), thread_([this, &stop] {
        try {
          runner_.run();
        } catch (const std::exception& e) {
          std::cerr << e.what() << std::endl;
          failed_ = true;
          stop = true;
        }
      }) {}
  background(const background&) = delete;
  background& operator=(const background&) = delete;
  ~background() {
    runner_.stop();
    thread_.join();
  }
  bool failed() const { return failed_; }

private:
  T& runner_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

/// Waits until `done()` holds or `stop` is set, up to `timeout`; true if `done()` held.
inline bool wait_for(const std::function<bool()>& done, const std::atomic<bool>& stop,
                     std::chrono::seconds timeout = std::chrono::seconds{120}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (stop || std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return true;
}

/// Emits through `emit(i)` every `interval` until `stop` is set, or `records` times when it is
/// above 0 (then returns at once after the last).
inline void emit_every(std::chrono::milliseconds interval, int64_t records,
                       const std::atomic<bool>& stop, const std::function<void(int64_t)>& emit) {
  for (int64_t i = 0; !stop && (records <= 0 || i < records); ++i) {
    emit(i);
    if (records <= 0)
      std::this_thread::sleep_for(interval);
  }
}

/// Waits for SIGTERM or SIGINT (`stop`).
inline void until_stopped(const std::atomic<bool>& stop) {
  wait_for([] { return false; }, stop, std::chrono::hours{24 * 365});
}

/// What an example's body gets: the settings of its command line, `--records N` (emit N
/// records, print the results once processed, then exit or go on serving; 0: emit until
/// SIGTERM), and the flag SIGTERM and SIGINT set.
using example_body =
  std::function<int(const service_settings& settings, int64_t records, std::atomic<bool>& stop)>;

/// Runs an example: parses its command line (exit code 2 for a bad setting; `own_options` adds
/// the example's own), makes SIGTERM and SIGINT set `stop`, runs `body`, and turns an
/// exception into its message and exit code 1.
inline int run_example(int argc, char** argv, const std::string& name,
                       const std::string& description, const example_body& body,
                       const std::function<void(CLI::App&)>& own_options = {}) {
  CLI::App app{name + ": " + description};
  service_options options{app};
  if (own_options)
    own_options(app);
  int64_t records = 0;
  app.add_option("--records", records,
                 "emit this many records, print the results once processed, then exit or go on "
                 "serving (0: emit until SIGTERM)")
    ->check(at_least(0))
    ->capture_default_str();
  if (auto code = options.parse(argc, argv))
    return *code;
  // Before any thread starts, so that every thread leaves SIGTERM and SIGINT to the handler.
  std::atomic<bool> stop{false};
  stop_on_signal([&] { stop = true; });
  try {
    return body(options.settings(), records, stop);
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << std::endl;
    return 1;
  }
}

/// The example's HTTP endpoint on --http (default 127.0.0.1:9095) for its processors and
/// `views`: the status page, health, metrics, visits, and the values of the groups' tables
/// and of the views at /tables/<topic>/<key>, shown as the JSON they hold.
inline std::unique_ptr<http_endpoint> serve(const std::vector<const processor*>& procs,
                                            const service_settings& s,
                                            std::vector<const raw_view*> views) {
  auto listen = s.http.empty() ? std::string{"127.0.0.1:9095"} : s.http;
  http_endpoint_config cfg{listen, [](std::string_view v) { return nlohmann::json::parse(v); },
                           std::move(views), {}};
  for (std::size_t i = 1; i < procs.size(); ++i)
    cfg.processors.push_back({procs[i]});
  auto endpoint = std::make_unique<http_endpoint>(*procs.at(0), std::move(cfg));
  std::cout << "Serving http://" << listen << "/ (tables at /tables/<topic>/<key>)" << std::endl;
  return endpoint;
}

} // namespace partita::examples
