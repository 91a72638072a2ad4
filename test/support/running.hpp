#pragma once

// Runs a processor or a view on a thread of its own, for integration tests.

#include "runtime/embedded_cluster.hpp"
#include "runtime/processor_config.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>

#include <exception>
#include <string>
#include <thread>
#include <utility>

namespace partita::test {

/// Constructs a T (processor, view) from `args` and calls its run() on a thread of its own;
/// stop() (or the destructor) stops and joins it, and checks that run() threw nothing.
template <class T>
class running {
public:
  template <class... Args>
  explicit running(Args&&... args) : it_(std::forward<Args>(args)...) {
    thread_ = std::thread{[this] {
      try {
        it_.run();
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    }};
  }
  running(const running&) = delete;
  running& operator=(const running&) = delete;
  ~running() { stop(); }
  void stop() {
    it_.stop();
    if (thread_.joinable())
      thread_.join();
    CAF_CHECK_EQUAL(error_, "");
  }
  T& operator*() { return it_; }
  T* operator->() { return &it_; }
  const T* operator->() const { return &it_; }

private:
  T it_;
  std::thread thread_;
  std::string error_;
};

/// A processor's settings on the embedded cluster, its state in `state_dir`.
inline processor_config embedded_config(embedded_cluster& cluster,
                                        const std::filesystem::path& state_dir) {
  processor_config cfg;
  cfg.brokers = cluster.bootstrap_servers();
  cfg.state_dir = state_dir;
  cfg.cluster = &cluster;
  // The mock cluster answers LeaveGroup but still waits a whole session timeout for the member
  // that left before it completes the next rebalance (librdkafka 2.0.2).
  cfg.consumer["session.timeout.ms"] = "6000";
  return cfg;
}

/// Runs `it` (a processor, a view) on this thread and returns the error run() throws ("" for
/// none): for settings that must be refused.
template <class T>
std::string run_error(T& it) {
  try {
    it.run();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

} // namespace partita::test
