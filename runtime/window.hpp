#pragma once

// Windows in event time (docs/time.md): what a windowed table of a group graph counts over.

#include <chrono>
#include <cstdint>
#include <string>

namespace partita {

/// What happens to a record that falls in a window already closed (its end plus the grace
/// period lies at or before the partition's stream time): dropped and counted in /metrics
/// (partita_window_late_total), or sent to the dead-letter topic as well.
enum class late_policy { drop, dead_letter };

/// The windows of a windowed table: `size` long, one starting every `advance` (tumbling:
/// advance == size; hopping: advance < size, a record falls in size / advance windows), in
/// event time (the record's timestamp, or a time the behavior passes). A window closes once
/// the partition's stream time (the highest event time it has seen) reaches its end plus
/// `grace`; it is deleted (and tombstoned) once stream time reaches its end plus `retention`.
///
///   auto per_minute = partita::window_spec::tumbling(std::chrono::minutes{1})
///                       .with_grace(std::chrono::seconds{10});
struct window_spec {
  std::chrono::milliseconds size{0};
  std::chrono::milliseconds advance{0};
  std::chrono::milliseconds grace{0};
  /// At least grace; by default a day past the window's end (Kafka Streams' default).
  std::chrono::milliseconds retention{std::chrono::hours{24}};
  late_policy late = late_policy::drop;

  static window_spec tumbling(std::chrono::milliseconds size) { return hopping(size, size); }
  static window_spec hopping(std::chrono::milliseconds size, std::chrono::milliseconds advance) {
    window_spec w;
    w.size = size;
    w.advance = advance;
    return w;
  }
  window_spec& with_grace(std::chrono::milliseconds g) {
    grace = g;
    return *this;
  }
  window_spec& with_retention(std::chrono::milliseconds r) {
    retention = r;
    return *this;
  }
  window_spec& on_late(late_policy p) {
    late = p;
    return *this;
  }

  /// What is wrong with the spec (empty: nothing), and how to fix it.
  std::string problem() const {
    auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
    if (size.count() <= 0)
      return "a window size of " + ms(size) + "; pass a size of at least 1 ms";
    if (advance.count() <= 0 || advance > size)
      return "an advance of " + ms(advance) + " for windows of " + ms(size) +
             "; pass an advance from 1 ms up to the size (tumbling: the size)";
    if (grace.count() < 0)
      return "a grace period of " + ms(grace) + "; pass 0 or more";
    if (retention < grace)
      return "a retention of " + ms(retention) + ", shorter than the grace period of " +
             ms(grace) + "; keep windows at least as long as they may still change";
    return {};
  }
};

/// One window of a key in a windowed table: [start, end) in ms since the epoch.
struct window_bounds {
  int64_t start = 0;
  int64_t end = 0;
  friend bool operator==(const window_bounds&, const window_bounds&) = default;
};

/// A window of one key in a windowed table, as queries see it: its aggregate's bytes, and
/// whether it is closed (final: the partition's stream time passed its end plus grace).
struct window_entry {
  window_bounds bounds;
  std::string value;
  bool closed = false;
};

} // namespace partita
