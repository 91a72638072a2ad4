#pragma once

#include "runtime/processor_config.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <optional>

namespace partita {

/// The restart schedule of one partition: exponential backoff with jitter, reset after a
/// stable period, escalation after too many restarts in a window. Plain logic, no actors.
class restart_schedule {
public:
  using clock = std::chrono::steady_clock;

  explicit restart_schedule(restart_policy policy) : policy_(policy) {}

  /// The partition failed at `now`. Returns how long to wait before restarting it, or nothing
  /// when it has failed too often and must stay down. `random` is uniform in [0, 1).
  std::optional<std::chrono::milliseconds> failed(clock::time_point now, double random) {
    if (started_ && now - *started_ >= policy_.reset_after)
      attempt_ = 0;
    while (!recent_.empty() && now - recent_.front() > policy_.window)
      recent_.pop_front();
    recent_.push_back(now);
    if (static_cast<int>(recent_.size()) > policy_.max_restarts)
      return std::nullopt;
    auto base = static_cast<double>(policy_.min_backoff.count()) *
                std::pow(policy_.multiplier, attempt_);
    base = std::min(base, static_cast<double>(policy_.max_backoff.count()));
    auto factor = 1.0 + policy_.jitter * (2.0 * random - 1.0);
    ++attempt_;
    return std::chrono::milliseconds{static_cast<int64_t>(std::llround(base * factor))};
  }

  /// The partition (re)started at `now`.
  void started(clock::time_point now) { started_ = now; }

  /// Restarts so far in the current backoff sequence.
  int attempt() const { return attempt_; }

private:
  restart_policy policy_;
  int attempt_ = 0;
  std::optional<clock::time_point> started_;
  std::deque<clock::time_point> recent_;
};

} // namespace partita
