#include "runtime/cluster_control.hpp"

#include "runtime/embedded_cluster.hpp"

#include <charconv>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace partita {

namespace {

constexpr std::string_view usage =
  "commands: down <broker> | up <broker> | leader <topic> <partition> <broker> | "
  "coordinator <group> <broker> | error <api-key-name> <error-name> <count> | "
  "rtt <broker> <ms> | quit";

std::optional<int> to_int(const std::string& s) {
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return value;
}

control_result refused(std::string what) {
  return {control_result::kind::refused, std::move(what)};
}

} // namespace

control_result apply_control_command(embedded_cluster& cluster, std::string_view line) {
  std::istringstream in{std::string{line}};
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  if (words.empty())
    return refused(std::string{"empty command; "} + std::string{usage});
  const auto& cmd = words[0];
  auto expect_args = [&](std::size_t n) { return words.size() == n + 1; };
  // Parses words[i] as an integer, or returns nullopt after recording what is wrong.
  std::string problem;
  auto number = [&](std::size_t i, const char* what) -> std::optional<int> {
    auto v = to_int(words[i]);
    if (!v && problem.empty())
      problem = std::string{what} + " must be a number, got '" + words[i] + "'";
    return v;
  };
  try {
    if (cmd == "quit" && expect_args(0))
      return {control_result::kind::quit, "quit"};
    if ((cmd == "down" || cmd == "up") && expect_args(1)) {
      auto broker = number(1, "broker");
      if (!broker)
        return refused(problem);
      cmd == "down" ? cluster.broker_down(*broker) : cluster.broker_up(*broker);
      return {control_result::kind::applied, "broker " + words[1] + " " + cmd};
    }
    if (cmd == "leader" && expect_args(3)) {
      auto partition = number(2, "partition");
      auto broker = number(3, "broker");
      if (!partition || !broker)
        return refused(problem);
      cluster.move_leader(words[1], *partition, *broker);
      return {control_result::kind::applied,
              "leader of " + words[1] + "/" + words[2] + " moved to broker " + words[3]};
    }
    if (cmd == "coordinator" && expect_args(2)) {
      auto broker = number(2, "broker");
      if (!broker)
        return refused(problem);
      cluster.move_coordinator(words[1], *broker);
      return {control_result::kind::applied,
              "coordinator of group " + words[1] + " moved to broker " + words[2]};
    }
    if (cmd == "error" && expect_args(3)) {
      auto key = api_key_by_name(words[1]);
      if (key < 0)
        return refused("unknown API key name '" + words[1] +
                       "' (use the protocol's names: Produce, Fetch, OffsetCommit, Heartbeat, "
                       "JoinGroup, SyncGroup, Metadata, FindCoordinator, ...)");
      auto err = error_by_name(words[2]);
      if (err == RD_KAFKA_RESP_ERR__END)
        return refused("unknown error name '" + words[2] +
                       "' (use librdkafka's names without the RD_KAFKA_RESP_ERR_ prefix: "
                       "NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, _TRANSPORT, ...)");
      auto count = number(3, "count");
      if (!count)
        return refused(problem);
      if (*count < 1)
        return refused("count must be at least 1");
      cluster.push_request_errors(key, err, static_cast<std::size_t>(*count));
      return {control_result::kind::applied,
              "next " + words[3] + " " + words[1] + " requests fail with " + words[2]};
    }
    if (cmd == "rtt" && expect_args(2)) {
      auto broker = number(1, "broker");
      auto ms = number(2, "ms");
      if (!broker || !ms)
        return refused(problem);
      cluster.set_rtt(*broker, *ms);
      return {control_result::kind::applied,
              "broker " + words[1] + " round-trip time " + words[2] + " ms"};
    }
  } catch (const std::exception& e) {
    return refused(std::string{line} + ": " + e.what());
  }
  return refused("malformed command '" + std::string{line} + "'; " + std::string{usage});
}

} // namespace partita
