#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <string>

namespace partita {

/// The commit watermark of one partition actor: batches are registered in processing order and
/// acknowledged in any order; a topic's watermark advances over a batch only when it and every
/// batch before it are acknowledged.
class commit_tracker {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Registers the batch `seq` that ended at `last_offset` of `topic`, fetched at `fetched`.
  void add(uint64_t seq, const std::string& topic, int64_t last_offset,
           time_point fetched = {}) {
    pending_.push_back(entry{seq, topic, last_offset, false, fetched});
  }

  /// Marks `seq` acknowledged; returns true if a watermark advanced. `on_passed` learns each
  /// batch the watermark passed, in order, and when it was fetched.
  bool ack(uint64_t seq,
           const std::function<void(uint64_t seq, time_point fetched)>& on_passed = {}) {
    for (auto& e : pending_)
      if (e.seq == seq)
        e.acked = true;
    bool advanced = false;
    while (!pending_.empty() && pending_.front().acked) {
      if (on_passed)
        on_passed(pending_.front().seq, pending_.front().fetched);
      if (!pending_.front().topic.empty()) // a batch of timers fired moves no input offset
        watermark_[pending_.front().topic] = pending_.front().last_offset;
      pending_.pop_front();
      advanced = true;
    }
    return advanced;
  }

  /// The last offset of `topic` whose effects are all acknowledged, or `otherwise`.
  int64_t watermark(const std::string& topic, int64_t otherwise = -1) const {
    auto i = watermark_.find(topic);
    return i == watermark_.end() ? otherwise : i->second;
  }

  /// Sets a topic's watermark (from the store, at start).
  void restore(const std::string& topic, int64_t offset) { watermark_[topic] = offset; }

  const std::map<std::string, int64_t>& watermarks() const { return watermark_; }

  /// Batches not yet acknowledged (or waiting behind one that is not).
  std::size_t pending() const { return pending_.size(); }

private:
  struct entry {
    uint64_t seq;
    std::string topic;
    int64_t last_offset;
    bool acked;
    time_point fetched;
  };
  std::deque<entry> pending_;
  std::map<std::string, int64_t> watermark_;
};

} // namespace partita
