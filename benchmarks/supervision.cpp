// Supervision cost: a partition actor fails (a poison record, retried once, then dead-lettered)
// under a steady offered load. How long from its failure to it committing again, beyond the
// configured backoff; and the other partitions' throughput around the restart against before.

#include "benchmarks/bench.hpp"
#include "runtime/kafka_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>

namespace partita::bench {

nlohmann::json supervision(const bench_env& env) {
  using namespace std::chrono_literals;
  const double rate = 20000;
  const int keys = 1000;
  const int failures = env.quick ? 3 : 6;
  const auto backoff = 100ms;
  const std::string group = "bench-supervision";
  const std::string topic = group + "-clicks";
  for (const auto& t : {topic, group + "-table", group + "-dlq"})
    env.cluster.create_topic(t, env.partitions, 3);
  group_graph<int64_codec> graph{group};
  graph.input(topic, bytes_codec{}, [](auto& ctx, const std::string&) {
    if (ctx.key() == "poison")
      throw std::runtime_error("poison cannot be counted");
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  clickcount_run run{env, graph, env.work / group, [&](processor_config& cfg) {
                       cfg.restart.min_backoff = backoff;
                       cfg.restart.max_backoff = backoff;
                       cfg.restart.jitter = 0;
                       cfg.poison_retries = 1; // one restart, then the dead-letter topic
                     }};
  run.wait_ready(static_cast<std::size_t>(env.partitions));
  auto victim = key_partition("poison", env.partitions);
  std::printf("supervision: %d failures of partition %d under %.0f records/s offered; backoff "
              "%lld ms\n",
              failures, victim, rate, static_cast<long long>(backoff.count()));

  // Samples every 5 ms: the victim's state and every partition's committed offset.
  struct sample {
    double t;
    bool waiting;
    std::map<int32_t, int64_t> committed;
  };
  std::vector<sample> samples;
  std::atomic<bool> sampling{true};
  auto start = clock_type::now();
  std::thread sampler{[&] {
    auto victim_label = std::to_string(victim);
    for (auto next = clock_type::now(); sampling; next += 5ms) {
      std::this_thread::sleep_until(next);
      sample s{seconds_since(start), false, {}};
      for (const auto& m : run.proc().metrics().samples()) {
        if (m.name == "partita_committed_offset")
          s.committed[std::stoi(m.tags.front().second)] = static_cast<int64_t>(m.value);
        else if (m.name == "partita_partition_state" && m.value == 1 &&
                 m.tags.front().second == victim_label)
          s.waiting = m.tags.back().second == "waiting";
      }
      samples.push_back(std::move(s));
    }
  }};
  {
    kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
    uint64_t sent = 0;
    int injected = 0;
    auto end = 2.0 * (failures + 1);
    while (seconds_since(start) < end) {
      auto due = static_cast<uint64_t>(seconds_since(start) * rate);
      for (; sent < due; ++sent)
        producer.produce(topic, -1, "user-" + std::to_string(sent % keys), "click", nullptr);
      if (injected < failures && seconds_since(start) > 2.0 * (injected + 1)) {
        producer.produce(topic, -1, "poison", "click", nullptr);
        ++injected;
      }
      std::this_thread::sleep_for(2ms); // pacing
    }
    producer.flush(std::chrono::seconds{60});
  }
  std::this_thread::sleep_for(500ms); // the last restart settles
  sampling = false;
  sampler.join();

  // Each failure: from the first sample with the victim waiting to the first with its committed
  // offset past where it stood, minus the backoff. The others' commits in the second after the
  // failure against the second before it.
  std::vector<double> recoveries;
  std::vector<double> others_ratio;
  auto others_sum = [&](const sample& s) {
    int64_t sum = 0;
    for (const auto& [p, o] : s.committed)
      if (p != victim)
        sum += o;
    return sum;
  };
  auto at = [&](double t) -> const sample& {
    for (const auto& s : samples)
      if (s.t >= t)
        return s;
    return samples.back();
  };
  for (size_t i = 1; i < samples.size(); ++i) {
    if (!samples[i].waiting || samples[i - 1].waiting)
      continue;
    auto failed_at = samples[i].t;
    auto stood = samples[i].committed.count(victim) ? samples[i].committed.at(victim) : -1;
    for (size_t j = i; j < samples.size(); ++j)
      if (!samples[j].waiting && samples[j].committed.count(victim) &&
          samples[j].committed.at(victim) > stood) {
        recoveries.push_back(samples[j].t - failed_at - std::chrono::duration<double>(backoff).count());
        break;
      }
    auto before = static_cast<double>(others_sum(at(failed_at)) - others_sum(at(failed_at - 1)));
    auto after = static_cast<double>(others_sum(at(failed_at + 1)) - others_sum(at(failed_at)));
    if (before > 0)
      others_ratio.push_back(after / before);
  }
  auto worst = recoveries.empty() ? -1 : *std::max_element(recoveries.begin(), recoveries.end());
  std::printf("  failures seen %zu; failure -> committing again, beyond the backoff: median "
              "%.0f ms, worst %.0f ms; other partitions' throughput in the second after a "
              "failure: %.2fx the second before\n",
              recoveries.size(), median(recoveries) * 1000, worst * 1000, median(others_ratio));
  return {{"failures", recoveries.size()},
          {"backoff_ms", backoff.count()},
          {"restart_beyond_backoff_s", recoveries},
          {"restart_beyond_backoff_median_s", median(recoveries)},
          {"others_throughput_ratio", others_ratio},
          {"others_throughput_ratio_median", median(others_ratio)}};
}

} // namespace partita::bench
