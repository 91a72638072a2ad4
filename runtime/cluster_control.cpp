#include "runtime/cluster_control.hpp"

#include "runtime/chaos_plan.hpp"
#include "runtime/embedded_cluster.hpp"

#include <charconv>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace partita {

const std::string_view control_usage =
  "commands: kill|down <broker> | start|up <broker> | stop <broker> | "
  "restart <broker> <down-for> | rolling-restart [<down-for>] [<pause>] | "
  "chaos <seed> <duration> [<kind>,...] | status | leader <topic> <partition> <broker> | "
  "coordinator <group> <broker> | group <group> | error <api-key-name> <error-name> <count> | "
  "rtt <broker> <ms> | quit";

namespace {

std::optional<int64_t> to_int(std::string_view s) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return value;
}

control_result refused(std::string what) {
  return {control_result::kind::refused, std::move(what)};
}

control_result applied(std::string what) {
  return {control_result::kind::applied, std::move(what)};
}

std::string text(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s"
                               : std::to_string(d.count()) + " ms";
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view t) {
  using std::chrono::milliseconds;
  // At most a day: a longer fault plan is a mistake, and the arithmetic stays far from overflow.
  constexpr int64_t day = 24 * 3600 * 1000;
  auto with = [&](std::string_view unit, int64_t scale) -> std::optional<milliseconds> {
    if (t.size() <= unit.size() || t.substr(t.size() - unit.size()) != unit)
      return std::nullopt;
    auto n = to_int(t.substr(0, t.size() - unit.size()));
    if (!n || *n < 0 || *n > day / scale)
      return std::nullopt;
    return milliseconds{*n * scale};
  };
  if (auto d = with("ms", 1))
    return d;
  if (auto d = with("s", 1000))
    return d;
  if (auto d = with("m", 60000))
    return d;
  auto n = to_int(t);
  if (!n || *n < 0 || *n > day / 1000)
    return std::nullopt;
  return milliseconds{*n * 1000};
}

std::string start_chaos(embedded_cluster& cluster, uint64_t seed,
                        std::chrono::milliseconds duration, const std::string& kinds) {
  std::vector<std::string> chosen;
  std::stringstream in{kinds};
  for (std::string k; std::getline(in, k, ',');)
    if (!k.empty())
      chosen.push_back(k);
  if (chosen.empty())
    chosen = chaos_kinds();
  auto books = cluster.snapshot();
  auto plan = make_chaos_plan(seed, duration, chosen, books.up, books.leaderships);
  for (const auto& step : plan) {
    auto what = "chaos " + std::to_string(seed) + " at +" + text(step.at) + ": " + step.command;
    cluster.schedule(step.at, what, [&cluster, what, command = step.command] {
      auto result = apply_control_command(cluster, command);
      if (result.outcome == control_result::kind::refused)
        throw std::runtime_error(result.message);
    });
  }
  return "chaos with seed " + std::to_string(seed) + " for " + text(duration) + ": " +
         std::to_string(plan.size()) + " steps";
}

std::string format_status(const embedded_cluster& cluster) {
  auto books = cluster.snapshot();
  std::string out;
  for (std::size_t b = 0; b < books.up.size(); ++b)
    out += "broker " + std::to_string(b + 1) + (books.up[b] ? " up\n" : " down\n");
  for (const auto& l : books.leaderships) {
    std::string replicas;
    for (auto r : l.replicas)
      replicas += (replicas.empty() ? "" : ",") + std::to_string(r);
    auto leader = l.leader == -1 ? std::string{"none"} : std::to_string(l.leader);
    out += l.group.empty() ? "partition " + l.name() + " leader " + leader
                           : "group " + l.group + " coordinator " + leader;
    out += " replicas " + replicas + "\n";
  }
  return out;
}

control_result apply_control_command(embedded_cluster& cluster, std::string_view line) {
  std::istringstream in{std::string{line}};
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  if (words.empty())
    return refused(std::string{"empty command; "} + std::string{control_usage});
  const auto& cmd = words[0];
  auto args = [&](std::size_t n) { return words.size() == n + 1; };
  // Parses words[i], or returns nullopt after recording what is wrong.
  std::string problem;
  auto number = [&](std::size_t i, const char* what) -> std::optional<int> {
    auto v = to_int(words[i]);
    if (!v && problem.empty())
      problem = std::string{what} + " must be a number, got '" + words[i] + "'";
    else if (v && (*v < -1 || *v > 1000000) && problem.empty())
      problem = std::string{what} + " " + words[i] + " is out of range";
    return v && problem.empty() ? std::optional<int>{static_cast<int>(*v)} : std::nullopt;
  };
  auto duration = [&](std::size_t i, const char* what,
                      std::chrono::milliseconds otherwise) -> std::optional<std::chrono::milliseconds> {
    if (i >= words.size())
      return otherwise;
    auto d = parse_duration(words[i]);
    if (!d && problem.empty())
      problem = std::string{what} + " must be a duration (500ms, 5s, 2m; at most a day), got '" +
                words[i] + "'";
    return d;
  };
  try {
    if (cmd == "quit" && args(0))
      return {control_result::kind::quit, "quit"};
    if (cmd == "status" && args(0))
      return applied(format_status(cluster) + "status");
    auto broker_cmd = [&](auto&& act, const std::string& done) -> control_result {
      auto broker = number(1, "broker");
      if (!broker)
        return refused(problem);
      act(*broker);
      return applied("broker " + words[1] + " " + done);
    };
    if ((cmd == "down" || cmd == "kill") && args(1))
      return broker_cmd([&](int b) { cluster.broker_down(b); },
                        cluster.elections().enabled
                          ? "down (crashed; its leaders move after " +
                              text(cluster.elections().detection_delay) + ")"
                          : "down");
    if ((cmd == "up" || cmd == "start") && args(1))
      return broker_cmd([&](int b) { cluster.broker_up(b); }, "up");
    if (cmd == "stop" && args(1))
      return broker_cmd([&](int b) { cluster.broker_stop(b); },
                        "stopped (its leaders moved first)");
    if (cmd == "restart" && args(2)) {
      auto down_for = duration(2, "down-for", {});
      if (!down_for)
        return refused(problem);
      return broker_cmd([&](int b) { cluster.broker_restart(b, *down_for); },
                        "restarting: back in " + text(*down_for));
    }
    if (cmd == "rolling-restart" && words.size() <= 3) {
      auto down_for = duration(1, "down-for", std::chrono::seconds{5});
      auto pause = duration(2, "pause", std::chrono::seconds{5});
      if (!down_for || !pause)
        return refused(problem);
      cluster.rolling_restart(*down_for, *pause);
      return applied("rolling restart of " + std::to_string(cluster.brokers()) +
                     " brokers: each down for " + text(*down_for) + ", " + text(*pause) +
                     " between them");
    }
    if (cmd == "chaos" && (args(2) || args(3))) {
      auto seed = to_int(words[1]);
      if (!seed || *seed < 0)
        return refused("seed must be a non-negative number, got '" + words[1] + "'");
      auto length = duration(2, "duration", {});
      if (!length)
        return refused(problem);
      return applied(start_chaos(cluster, static_cast<uint64_t>(*seed), *length,
                                 args(3) ? words[3] : ""));
    }
    if (cmd == "leader" && args(3)) {
      auto partition = number(2, "partition");
      auto broker = number(3, "broker");
      if (!partition || !broker)
        return refused(problem);
      cluster.move_leader(words[1], *partition, *broker);
      return applied("leader of " + words[1] + "/" + words[2] + " moved to broker " + words[3]);
    }
    if (cmd == "coordinator" && args(2)) {
      auto broker = number(2, "broker");
      if (!broker)
        return refused(problem);
      cluster.move_coordinator(words[1], *broker);
      return applied("coordinator of group " + words[1] + " moved to broker " + words[2]);
    }
    if (cmd == "group" && args(1)) {
      cluster.add_group(words[1]);
      return applied("the controller keeps group " + words[1] + "'s coordinator");
    }
    if (cmd == "error" && args(3)) {
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
      if (*count < 1 || *count > 10000)
        return refused("count must be 1..10000");
      cluster.push_request_errors(key, err, static_cast<std::size_t>(*count));
      return applied("next " + words[3] + " " + words[1] + " requests fail with " + words[2]);
    }
    if (cmd == "rtt" && args(2)) {
      auto broker = number(1, "broker");
      auto ms = number(2, "ms");
      if (!broker || !ms)
        return refused(problem);
      cluster.set_rtt(*broker, *ms);
      return applied("broker " + words[1] + " round-trip time " + words[2] + " ms");
    }
  } catch (const std::exception& e) {
    return refused(std::string{line} + ": " + e.what());
  }
  return refused("malformed command '" + std::string{line} + "'; " + std::string{control_usage});
}

} // namespace partita
