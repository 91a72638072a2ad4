#pragma once

// What the status page's charts draw: the service's figures sampled every few seconds over the
// last minutes (records processed, each partition's lag, each broker up or down), kept by the
// HTTP endpoint from the moment it starts, so that a page opened late still shows them.

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace partita {

class status_history {
public:
  /// Samples `status()` (what /status.json shows) every `interval`, keeping `length` samples.
  status_history(std::function<nlohmann::json()> status, std::chrono::milliseconds interval,
                 std::size_t length);
  status_history(const status_history&) = delete;
  status_history& operator=(const status_history&) = delete;
  ~status_history();

  /// {"interval_seconds": s, "samples": [{"t": unix seconds, "records": n,
  ///  "lag": {"<partition>": n}, "brokers": {"<broker>": up}}, ...]}, oldest first; with
  /// several processors, lag by "<group>/<partition>".
  nlohmann::json json() const;

private:
  void sample();

  std::function<nlohmann::json()> status_;
  std::chrono::milliseconds interval_;
  std::size_t length_;
  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::deque<nlohmann::json> samples_;
  std::thread thread_;
};

} // namespace partita
