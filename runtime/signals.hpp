#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>

#include "runtime/processor.hpp"

namespace partita {

/// The processor a signal stops, whether it exists yet or not: stop_on_signal([&] {
/// slot.stop(); }) first, then `auto held = slot.hold(proc);` once it is made (stopped at once
/// if the signal came before) for as long as it lives.
class stop_slot {
public:
  /// Stops the processor held, and any held later.
  void stop() {
    std::lock_guard guard{mtx_};
    stopping_ = true;
    if (running_)
      running_->stop();
  }
  bool stopping() const { return stopping_; }

  /// Holds `p` in the slot until it goes.
  class holding {
  public:
    holding(stop_slot& slot, processor& p) : slot_(slot) { slot_.set(&p); }
    ~holding() { slot_.set(nullptr); }
    holding(const holding&) = delete;
    holding& operator=(const holding&) = delete;

  private:
    stop_slot& slot_;
  };
  [[nodiscard]] holding hold(processor& p) { return holding{*this, p}; }

private:
  void set(processor* p) {
    std::lock_guard guard{mtx_};
    running_ = p;
    if (p && stopping_)
      p->stop();
  }

  std::mutex mtx_;
  processor* running_ = nullptr;
  std::atomic<bool> stopping_{false};
};

/// Calls `on_stop` (on a thread of its own) at the first SIGINT or SIGTERM; a second one ends
/// the process at once with code 130, and so does `shutdown_timeout` passing after the first
/// (code 1; zero: no limit). Call it before starting any other thread, so that every thread
/// inherits the blocked signals.
void stop_on_signal(std::function<void()> on_stop,
                    std::chrono::milliseconds shutdown_timeout = std::chrono::milliseconds{0});

} // namespace partita
