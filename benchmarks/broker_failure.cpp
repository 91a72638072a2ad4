// Broker failure timeline: the click count under a steady offered load while one broker goes
// down and comes back, then while all three restart in turn. Records processed per 100 ms, the
// longest stall of each partition, how long until every partition processes again after each
// fault (after a crash counted from the election, once a leader is reachable again), and
// records lost and duplicated (both must be 0).
//
// The embedded cluster's controller elects new leaders, and moves the group's coordinator, 2 s
// after a crash (its detection delay) and before a controlled shutdown (the rolling restart).
// A crash of the coordinator's broker is reported apart: with librdkafka 2.0.2 on the embedded
// cluster the consumer does not find the moved coordinator before its session times out, and
// rejoins the group.

#include "benchmarks/bench.hpp"
#include "runtime/codec.hpp"
#include "runtime/kafka_producer.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

namespace partita::bench {

namespace {

struct sample {
  double t = 0;
  uint64_t processed = 0;
  std::map<int32_t, int64_t> committed; // next offset to commit, by partition
};

struct fault_event {
  double t = 0;
  /// When a leader of every partition is reachable again: after a crash, once the controller
  /// has noticed it (its detection delay); at once otherwise.
  double reachable = 0;
  std::string what;
};

} // namespace

nlohmann::json broker_failure(const bench_env& env) {
  using namespace std::chrono_literals;
  const int keys = 1000;
  const double rate = 20000; // records/s offered
  const std::string group = "bench-failure";
  const std::string topic = group + "-clicks";
  const std::vector<std::string> topics{topic, group + "-table", group + "-dlq"};
  for (const auto& t : topics)
    env.cluster.create_topic(t, env.partitions, 3);
  std::cout << "broker failure: click count at " << rate << " records/s offered, " << keys
            << " keys, " << env.partitions << " partitions, 3 brokers" << std::endl;
  const std::chrono::milliseconds session_timeout{6000};
  env.cluster.move_coordinator(group, 1); // before the group forms: moving it later costs a rejoin
  clickcount_run run{env, group, topic, env.work / group, [&](processor_config& cfg) {
                       cfg.consumer["session.timeout.ms"] =
                         std::to_string(session_timeout.count());
                       cfg.restart.min_backoff = 100ms;
                       cfg.restart.max_backoff = 2s;
                     }};
  run.wait_ready(static_cast<std::size_t>(env.partitions));

  auto start = clock_type::now();
  std::atomic<bool> loading{true};
  std::atomic<uint64_t> sent{0};
  std::thread load{[&] {
    kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
    while (loading) {
      auto due = static_cast<uint64_t>(seconds_since(start) * rate);
      for (; sent < due; ++sent)
        producer.produce(topic, -1, "user-" + std::to_string(sent % keys), "click", nullptr);
      std::this_thread::sleep_for(5ms); // pacing
    }
    producer.flush(std::chrono::seconds{120});
  }};

  std::vector<sample> samples;
  std::mutex samples_mtx;
  std::atomic<bool> sampling{true};
  std::thread sampler{[&] {
    for (auto next = clock_type::now(); sampling; next += 100ms) {
      std::this_thread::sleep_until(next);
      sample s{seconds_since(start), run.stats().records, {}};
      for (const auto& m : run.proc().metrics().samples())
        if (m.name == "partita_committed_offset")
          s.committed[std::stoi(m.tags.front().second)] = static_cast<int64_t>(m.value);
      std::lock_guard guard{samples_mtx};
      samples.push_back(std::move(s));
    }
  }};

  std::vector<fault_event> events;
  auto at = [&](double t) { std::this_thread::sleep_until(start + std::chrono::duration<double>(t)); };
  auto coordinates = [&](int32_t b) {
    for (const auto& l : env.cluster.snapshot().leaderships)
      if (l.group == group)
        return l.leader == b;
    return false;
  };
  auto note = [&](std::string what, double detection = 0) {
    auto t = seconds_since(start);
    events.push_back({t, t + detection, std::move(what)});
    std::cout << "  " << events.back().t << " s: " << events.back().what << std::endl;
  };
  // A crash: the embedded cluster's controller moves the broker's leaderships after its
  // detection delay (the group's coordinator, when it was there, after its own: at once).
  auto crash = [&](int32_t b, double t) {
    at(t);
    auto what = "broker " + std::to_string(b) + " crashed" + (coordinates(b) ? " (coordinator)" : "");
    env.cluster.broker_down(b);
    note(what, std::chrono::duration<double>(env.cluster.elections().detection_delay).count());
  };
  // A controlled shutdown, as a managed service's rolling update does it: leaders move first.
  auto stop = [&](int32_t b, double t) {
    at(t);
    auto what = "broker " + std::to_string(b) + " stopped" + (coordinates(b) ? " (coordinator)" : "");
    env.cluster.broker_stop(b);
    note(what);
  };
  auto restore = [&](int32_t b, double t) {
    at(t);
    env.cluster.broker_up(b);
    note("broker " + std::to_string(b) + " up");
  };
  crash(2, 3);
  restore(2, 8);
  for (int32_t b = 1; b <= 3; ++b) { // rolling restart
    stop(b, 12 + 5 * (b - 1));
    restore(b, 15 + 5 * (b - 1));
  }
  const double load_seconds = 30;
  at(load_seconds);
  loading = false;
  load.join();
  // What the input topic holds: the producer's retries through the faults may have written a
  // record twice (the embedded cluster keeps no idempotence state across leader moves); Partita
  // is measured against what it was given.
  auto expected = count_keys(env, topic);
  int64_t input_duplicates = -static_cast<int64_t>(sent.load());
  for (const auto& [key, n] : expected)
    input_duplicates += n;
  // Every record of the input is processed (or the scenario reports what is missing).
  auto deadline = clock_type::now() + 120s;
  while (run.stats().records < sent + input_duplicates && clock_type::now() < deadline)
    std::this_thread::sleep_for(10ms); // sampling period
  sampling = false;
  sampler.join();
  int64_t lost = 0;
  int64_t duplicated = 0;
  for (const auto& [key, n] : expected) {
    auto raw = run.proc().get(key);
    auto got = raw ? int64_codec{}.decode(*raw) : 0;
    lost += std::max<int64_t>(0, n - got);
    duplicated += std::max<int64_t>(0, got - n);
  }

  // A partition handed back during a rebalance has no committed offset in the samples: carry
  // the last known one forward, so that the time counts as a stall.
  std::map<int32_t, int64_t> known;
  for (auto& s : samples) {
    for (const auto& [p, offset] : s.committed)
      known[p] = offset;
    s.committed = known;
  }
  // Longest stall per partition: the longest time its committed offset stood still while load
  // was offered (to every partition, all the time).
  std::map<int32_t, double> longest_stall;
  std::map<int32_t, std::pair<int64_t, double>> last_move; // offset, when it last moved
  for (const auto& s : samples) {
    if (s.t > load_seconds)
      break;
    for (const auto& [p, offset] : s.committed) {
      auto [it, fresh] = last_move.try_emplace(p, offset, s.t);
      if (fresh || offset != it->second.first)
        it->second = {offset, s.t};
      else
        longest_stall[p] = std::max(longest_stall[p], s.t - it->second.second);
    }
  }
  // After each fault: time until every partition has committed again.
  nlohmann::json resumed = nlohmann::json::array();
  for (const auto& e : events) {
    std::map<int32_t, int64_t> before;
    double all_moved = -1;
    for (const auto& s : samples) {
      if (s.t <= e.t) {
        before = s.committed;
        continue;
      }
      bool all = !before.empty();
      for (const auto& [p, offset] : before)
        all = all && s.committed.at(p) > offset;
      if (all) {
        all_moved = std::max(0.0, s.t - e.reachable);
        break;
      }
    }
    resumed.push_back(
      {{"at_s", e.t}, {"event", e.what}, {"leader_reachable_after_s", e.reachable - e.t},
       {"all_partitions_resumed_after_s", all_moved}});
  }

  std::ofstream data{env.out / "broker_failure.dat"};
  for (size_t i = 1; i < samples.size(); ++i)
    data << samples[i].t << ' '
         << static_cast<double>(samples[i].processed - samples[i - 1].processed) /
              std::max(1e-3, samples[i].t - samples[i - 1].t)
         << '\n';
  data.close();
  std::string arrows;
  for (const auto& e : events)
    arrows += "set arrow from " + std::to_string(e.t) + ", graph 0 to " + std::to_string(e.t) +
              ", graph 1 nohead lc rgb '" + (e.what.find(" up") == std::string::npos ? "#b3261e" : "#16794a") +
              "' dt 2\nset label '" + e.what + "' at " + std::to_string(e.t + 0.1) +
              ", graph 0.97 rotate by -90 font 'sans,8'\n";
  plot(env, "broker_failure",
       "set title 'Click count through broker failures (" + std::to_string(int(rate)) +
         " records/s offered; red: broker down, green: back up)'\n"
         "set xlabel 'seconds'\nset ylabel 'records processed per second (100 ms bins)'\n"
         "set grid\nset yrange [0:*]\n" + arrows + "plot '" +
         (env.out / "broker_failure.dat").string() + "' using 1:2 with lines lw 1.5 notitle\n");

  double worst_stall = 0;
  std::printf("  partition   longest stall (s)\n");
  for (const auto& [p, s] : longest_stall) {
    std::printf("  %9d   %17.2f\n", p, s);
    worst_stall = std::max(worst_stall, s);
  }
  // Events that move the group's coordinator (its broker crashed or stopped) are reported
  // apart, and so are the events in their shadow: their stall is the coordinator's. The shadow
  // lasts until every partition committed again, and at least a session timeout — librdkafka
  // may rejoin the group only then (the moved coordinator not found), and the rejoin stalls
  // partitions again.
  double worst_resume = 0;
  double worst_coordinator = 0;
  double shadow_until = -1;
  for (auto& r : resumed) {
    auto at = r["at_s"].get<double>();
    auto after = r["all_partitions_resumed_after_s"].get<double>();
    auto event = r["event"].get<std::string>();
    bool coordinator_moved = event.ends_with("(coordinator)");
    if (coordinator_moved)
      shadow_until =
        after < 0 ? 1e9
                  : at + std::max(after, std::chrono::duration<double>(session_timeout).count());
    bool shadowed = !coordinator_moved && at < shadow_until;
    r["coordinator_affected"] = coordinator_moved || shadowed;
    std::printf("  %5.1f s %-28s every partition committing again %.2f s after a leader was "
                "reachable%s\n", at,
                event.c_str(), after,
                shadowed ? " (within a session timeout of a coordinator move)" : "");
    if (coordinator_moved)
      worst_coordinator = std::max(worst_coordinator, after < 0 ? 1e9 : after);
    else if (!shadowed)
      worst_resume = std::max(worst_resume, after < 0 ? 1e9 : after);
  }
  std::printf("  records offered %llu (in the input topic: %lld more, the producer's retries); "
              "lost %lld, duplicated %lld\n",
              static_cast<unsigned long long>(sent.load()),
              static_cast<long long>(input_duplicates), static_cast<long long>(lost),
              static_cast<long long>(duplicated));
  nlohmann::json stalls = nlohmann::json::object();
  for (const auto& [p, s] : longest_stall)
    stalls[std::to_string(p)] = s;
  return {{"offered_records_per_s", rate},
          {"records", sent.load()},
          {"input_duplicates_by_producer", input_duplicates},
          {"lost", lost},
          {"duplicated", duplicated},
          {"longest_stall_s_by_partition", stalls},
          {"longest_stall_s", worst_stall},
          {"resumed", resumed},
          {"worst_resume_s", worst_resume},
          {"worst_coordinator_crash_s", worst_coordinator}};
}

} // namespace partita::bench
