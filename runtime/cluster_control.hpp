#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace partita {

class embedded_cluster;

/// What one control command did: applied (with a description for the log and the answer),
/// asked to quit, or was refused with a message saying what is wrong and what is allowed.
struct control_result {
  enum class kind { applied, quit, refused };
  kind outcome;
  std::string message;
};

/// The control protocol's commands, one line of help each.
extern const std::string_view control_usage;

/// Applies one line of partita-cluster's control protocol to `cluster` (see control_usage).
/// Durations are a number with a unit (500ms, 5s, 2m); a bare number is seconds.
/// Never throws for bad input: a malformed command is `refused`.
control_result apply_control_command(embedded_cluster& cluster, std::string_view line);

/// Schedules a seeded chaos run on `cluster` (see make_chaos_plan); `kinds` is a
/// comma-separated list, empty for all. Returns what was scheduled; throws
/// std::invalid_argument for bad input.
std::string start_chaos(embedded_cluster& cluster, uint64_t seed,
                        std::chrono::milliseconds duration, const std::string& kinds);

/// "500ms", "5s", "2m" or a bare number of seconds, at most a day; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The cluster's books as lines: brokers, each partition's leader and replicas, each group's
/// coordinator.
std::string format_status(const embedded_cluster& cluster);

} // namespace partita
