#pragma once

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace partita {

/// A timer's identity: when it is due (milliseconds since the epoch) and a number unique in
/// its partition. ctx.schedule() returns it; keep it (to_string() in a table value, say) to
/// cancel the timer with ctx.cancel_timer().
struct timer_id {
  int64_t due_ms = 0;
  uint64_t n = 0;

  /// "<due_ms>.<n>"
  std::string to_string() const { return std::to_string(due_ms) + "." + std::to_string(n); }
  /// Reads to_string()'s text; throws std::invalid_argument for anything else.
  static timer_id parse(std::string_view text) {
    timer_id id;
    auto dot = text.find('.');
    auto bad = [&] {
      return std::invalid_argument("timer_id::parse: '" + std::string{text.substr(0, 100)} +
                                   "' is not a timer id (<due_ms>.<n>)");
    };
    if (dot == std::string_view::npos)
      throw bad();
    const char* end = text.data() + dot;
    if (auto r = std::from_chars(text.data(), end, id.due_ms); r.ec != std::errc{} || r.ptr != end)
      throw bad();
    end = text.data() + text.size();
    if (auto r = std::from_chars(text.data() + dot + 1, end, id.n);
        r.ec != std::errc{} || r.ptr != end)
      throw bad();
    return id;
  }
  friend bool operator==(const timer_id&, const timer_id&) = default;
};

} // namespace partita
