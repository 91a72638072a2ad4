#include "runtime/chaos_plan.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace partita {

namespace {

using millis = std::chrono::milliseconds;

/// Request errors a client retries, by API. None for Produce: librdkafka 2.0.2's mock does no
/// sequence check for an idempotent producer, so an injected Produce error can make it
/// acknowledge a record it never wrote (a defect of the mock, not a fault of a real cluster).
struct injected_error {
  const char* api;
  const char* error;
};
constexpr injected_error retriable[] = {
  {"Fetch", "NOT_LEADER_FOR_PARTITION"},
  {"Fetch", "REQUEST_TIMED_OUT"},
  {"Metadata", "LEADER_NOT_AVAILABLE"},
  {"OffsetCommit", "REQUEST_TIMED_OUT"},
};

/// A uniform draw from [lo, hi] that is the same on every standard library (mt19937_64's
/// output is fixed by the standard; the distributions are not).
struct draw {
  std::mt19937_64 rng;
  int64_t operator()(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  }
};

} // namespace

const std::vector<std::string>& chaos_kinds() {
  static const std::vector<std::string> kinds{"crash",  "restart", "leader",
                                              "coordinator", "errors", "latency"};
  return kinds;
}

std::vector<chaos_step> make_chaos_plan(uint64_t seed, millis duration,
                                        const std::vector<std::string>& kinds,
                                        const std::vector<bool>& up,
                                        const std::vector<leadership>& books) {
  const auto brokers = static_cast<int>(up.size());
  if (duration < millis{1000})
    throw std::invalid_argument("a chaos run lasts at least 1 s");
  if (kinds.empty())
    throw std::invalid_argument("name at least one kind of fault");
  for (const auto& k : kinds)
    if (std::find(chaos_kinds().begin(), chaos_kinds().end(), k) == chaos_kinds().end())
      throw std::invalid_argument("unknown kind of fault '" + k +
                                  "' (kinds: crash, restart, leader, coordinator, errors, "
                                  "latency)");
  std::vector<const leadership*> partitions, groups;
  for (const auto& l : books)
    (l.group.empty() ? partitions : groups).push_back(&l);

  draw next{std::mt19937_64{seed}};
  std::vector<chaos_step> plan;
  auto add = [&](millis at, std::string command) {
    plan.push_back(chaos_step{std::min(at, duration), std::move(command)});
  };
  // One broker out at a time: `out` until `out_until`, and none of its steps go there.
  int32_t out = -1;
  millis out_until{0};
  std::vector<int32_t> down_already;
  for (int32_t b = 1; b <= brokers; ++b)
    if (!up[static_cast<std::size_t>(b - 1)])
      down_already.push_back(b);
  auto is_out = [&](int32_t b, millis t) {
    return (b == out && t < out_until) ||
           std::find(down_already.begin(), down_already.end(), b) != down_already.end();
  };
  auto end = duration - millis{1000}; // room for the last one to come back
  for (millis t{next(200, 1500)}; t < end; t += millis{next(500, 2500)}) {
    const auto& kind = kinds[static_cast<std::size_t>(next(0, static_cast<int64_t>(kinds.size()) - 1))];
    if (kind == "crash" || kind == "restart") {
      if (t < out_until + millis{1000} || brokers < 2 || !down_already.empty())
        continue;
      out = static_cast<int32_t>(next(1, brokers));
      auto back = std::min(t + millis{next(1000, 5000)}, end);
      out_until = back;
      add(t, (kind == "crash" ? "kill " : "stop ") + std::to_string(out));
      add(back, "start " + std::to_string(out));
    } else if (kind == "leader" && !partitions.empty()) {
      const auto& l = *partitions[static_cast<std::size_t>(next(0, static_cast<int64_t>(partitions.size()) - 1))];
      std::vector<int32_t> to;
      for (auto r : l.replicas)
        if (!is_out(r, t))
          to.push_back(r);
      if (to.empty())
        continue;
      auto b = to[static_cast<std::size_t>(next(0, static_cast<int64_t>(to.size()) - 1))];
      add(t, "leader " + l.topic + " " + std::to_string(l.partition) + " " + std::to_string(b));
    } else if (kind == "coordinator" && !groups.empty() && brokers > 1) {
      const auto& g = *groups[static_cast<std::size_t>(next(0, static_cast<int64_t>(groups.size()) - 1))];
      auto b = static_cast<int32_t>(next(1, brokers));
      if (is_out(b, t))
        continue;
      add(t, "coordinator " + g.group + " " + std::to_string(b));
    } else if (kind == "errors") {
      const auto& e = retriable[next(0, std::size(retriable) - 1)];
      add(t, std::string{"error "} + e.api + " " + e.error + " " + std::to_string(next(1, 5)));
    } else if (kind == "latency") {
      auto b = static_cast<int32_t>(next(1, brokers));
      add(t, "rtt " + std::to_string(b) + " " + std::to_string(next(50, 500)));
      add(t + millis{next(1000, 4000)}, "rtt " + std::to_string(b) + " 0");
    }
  }
  std::stable_sort(plan.begin(), plan.end(),
                   [](const chaos_step& a, const chaos_step& b) { return a.at < b.at; });
  return plan;
}

} // namespace partita
