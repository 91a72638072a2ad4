#pragma once

// Runs a processor or a view on a thread of its own, for integration tests.

#include <caf/test/unit_test.hpp>

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
