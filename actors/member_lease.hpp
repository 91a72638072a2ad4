#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace partita {

/// How long this member may still write for its partitions: the group coordinator keeps a
/// member's partitions at least a session timeout after it last confirmed the member (an
/// assignment, a successful offset commit). The lease runs out earlier than that, so that a
/// member paused or cut off stops producing before the group can hand its partitions to
/// another member. Renewed by the consumer pump, read by the partition actors; thread-safe.
class member_lease {
public:
  using clock = std::chrono::steady_clock;

  explicit member_lease(std::chrono::milliseconds duration) : duration_(duration) {}

  /// The coordinator confirmed the member in a request sent at `sent`.
  void renew(clock::time_point sent) {
    auto until = (sent + duration_).time_since_epoch().count();
    auto seen = until_.load();
    while (until > seen && !until_.compare_exchange_weak(seen, until)) {
    }
  }
  /// The member lost its partitions (a lost assignment): nothing may be written until renewed.
  void expire() { until_ = 0; }
  bool valid(clock::time_point now = clock::now()) const {
    return now.time_since_epoch().count() < until_.load();
  }
  std::chrono::milliseconds duration() const { return duration_; }
  /// The group generation of the member's latest assignment (0: not known), which orders the
  /// owners of a partition (next_epoch).
  void set_generation(int32_t g) { generation_ = g; }
  int32_t generation() const { return generation_.load(); }

private:
  std::chrono::milliseconds duration_;
  std::atomic<clock::rep> until_{0};
  std::atomic<int32_t> generation_{0};
};

} // namespace partita
