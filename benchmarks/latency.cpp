// Latency: end to end, from producing a click to the click being counted in the state with its
// changelog record acknowledged, at fixed offered rates (25 %, 50 %, 75 % of the maximum the
// processor sustains with the load generator running beside it), Partita and the baseline on the
// same rates.
//
// How it is measured, the same way for both sides: the load generator notes when it produced
// the n-th click of each key; an observer reads the changelog topic and, seeing value c for key
// k, counts the clicks of k up to the c-th as done at that moment. The observer's own fetch wait
// (1 ms) is part of every figure. The first second of each run is warm-up (connections and
// metadata of the new topics) and not counted.

#include "benchmarks/baseline.hpp"
#include "benchmarks/bench.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/kafka_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <unordered_map>

namespace partita::bench {

namespace {

using namespace std::chrono_literals;

constexpr int keys = 1000;
constexpr auto warm_up = 1s;

/// Consumer settings of both sides here: the embedded cluster answers a fetch only after
/// fetch.wait.max.ms, so Partita's default of 100 ms would be the latency.
const kafka_properties low_latency{{"fetch.wait.max.ms", "5"}};

/// Reads a changelog topic from the beginning and turns each value into the latencies of the
/// clicks it accounts for.
class changelog_observer {
public:
  changelog_observer(const bench_env& env, const std::string& topic,
                     const std::vector<std::vector<clock_type::time_point>>& sent)
    : sent_(sent), seen_(keys, 0) {
    auto* conf = make_kafka_conf({{"bootstrap.servers", env.bootstrap},
                                  {"group.id", topic + "-observer"},
                                  {"enable.auto.commit", "false"},
                                  {"fetch.wait.max.ms", "1"},
                                  {"fetch.error.backoff.ms", "10"},
                                  // Above what its queue can hold: librdkafka 2.0 stops
                                  // fetching for up to a second once it is exceeded.
                                  {"queued.min.messages", "1000000"},
                                  {"log_level", "3"}});
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk_ == nullptr)
      throw std::runtime_error(err);
    auto* parts = rd_kafka_topic_partition_list_new(env.partitions);
    for (int p = 0; p < env.partitions; ++p)
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    thread_ = std::thread{[this] { run(); }};
  }
  ~changelog_observer() {
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  uint64_t done() const { return done_; }
  /// Clicks produced before `t` are not counted (the warm-up).
  void count_from(clock_type::time_point t) { from_ = t.time_since_epoch().count(); }
  /// Latencies in ms; call after the observer has seen everything.
  const std::vector<double>& latencies() const { return latencies_; }

private:
  void run() {
    auto* queue = rd_kafka_queue_get_consumer(rk_);
    std::vector<rd_kafka_message_t*> msgs(10000);
    while (!stop_) {
      // What is there at once; else the first record as soon as it comes (a batch call would
      // wait out its timeout and add the wait to every record it holds).
      auto n = rd_kafka_consume_batch_queue(queue, 0, msgs.data(), msgs.size());
      if (n == 0)
        n = rd_kafka_consume_batch_queue(queue, 5, msgs.data(), 1);
      auto now = clock_type::now();
      for (ssize_t i = 0; i < n; ++i) {
        auto* m = msgs[i];
        std::string_view key{static_cast<const char*>(m->key), m->key_len};
        if (m->err == 0 && key.starts_with("user-") && m->payload != nullptr) {
          int k = 0;
          int64_t count = 0;
          std::from_chars(key.data() + 5, key.data() + key.size(), k);
          auto* v = static_cast<const char*>(m->payload);
          std::from_chars(v, v + m->len, count);
          const auto& times = sent_[static_cast<size_t>(k)];
          clock_type::time_point from{clock_type::duration{from_.load()}};
          for (auto c = seen_[k]; c < count && c < static_cast<int64_t>(times.size()); ++c)
            if (times[c] >= from)
              latencies_.push_back(
                std::chrono::duration<double, std::milli>(now - times[c]).count());
          if (count > seen_[k]) {
            done_ += static_cast<uint64_t>(count - seen_[k]);
            seen_[k] = count;
          }
        }
        rd_kafka_message_destroy(m);
      }
    }
    rd_kafka_queue_destroy(queue);
  }

  const std::vector<std::vector<clock_type::time_point>>& sent_;
  std::vector<int64_t> seen_;
  std::vector<double> latencies_;
  std::atomic<uint64_t> done_{0};
  std::atomic<clock_type::rep> from_{0};
  std::atomic<bool> stop_{false};
  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
};

/// Offers `total` clicks at `rate`/s to `topic`, noting when each was produced.
void offer(const bench_env& env, const std::string& topic, double rate, uint64_t total,
           std::vector<std::vector<clock_type::time_point>>& sent) {
  // Each click sent at once, as the measurement from outside did.
  kafka_producer producer{{{"bootstrap.servers", env.bootstrap}, {"linger.ms", "0"}}};
  auto start = clock_type::now();
  for (uint64_t i = 0; i < total;) {
    auto due = std::min(total, static_cast<uint64_t>(seconds_since(start) * rate) + 1);
    for (; i < due; ++i) {
      auto k = static_cast<size_t>(i % keys);
      sent[k][i / keys] = clock_type::now();
      producer.produce(topic, -1, "user-" + std::to_string(k), "click", nullptr);
    }
    std::this_thread::sleep_for(1ms); // pacing
  }
  producer.flush(std::chrono::seconds{60});
}

struct side_result {
  double offered = 0;
  double achieved = 0;
  std::vector<double> latencies;
};

/// One side at one rate: a fresh topic and group, the side running, the clicks offered, and
/// the observer waiting for all of them.
side_result measure(const bench_env& env, bool partita, const std::string& tag, double rate,
                    double seconds, bool partita_defaults) {
  auto group = std::string{"bench-latency-"} + (partita ? "p-" : "b-") + tag;
  auto topic = group + "-clicks";
  env.cluster.create_topic(topic, env.partitions, 3);
  env.cluster.create_topic(group + "-table", env.partitions, 3);
  auto total = static_cast<uint64_t>(rate * seconds);
  // Sized up front: the observer reads while the load generator writes other elements.
  std::vector<std::vector<clock_type::time_point>> sent(keys, std::vector<clock_type::time_point>(
                                                                total / keys + 1));
  changelog_observer observer{env, group + "-table", sent};
  auto wait_observed = [&] {
    auto deadline = clock_type::now() + 120s;
    while (observer.done() < total && clock_type::now() < deadline)
      std::this_thread::sleep_for(5ms); // sampling period
  };
  side_result out{rate, 0, {}};
  auto start = clock_type::now();
  if (partita) {
    clickcount_run run{env, group, topic, env.work / group, [&](processor_config& cfg) {
                         if (!partita_defaults)
                           cfg.consumer = low_latency;
                       }};
    run.wait_ready(static_cast<std::size_t>(env.partitions));
    start = clock_type::now();
    observer.count_from(start + warm_up);
    offer(env, topic, rate, total, sent);
    wait_observed();
  } else {
    baseline_config cfg;
    cfg.kafka = {{"bootstrap.servers", env.bootstrap}};
    cfg.consumer = low_latency;
    cfg.group = group;
    cfg.topic = topic;
    cfg.state_dir = env.work / group;
    cfg.records = total;
    std::atomic<bool> assigned{false};
    cfg.assigned = &assigned;
    std::atomic<uint64_t> fetched{0};
    std::atomic<uint64_t> applied{0};
    std::thread runner{[&] { run_baseline(cfg, fetched, applied); }};
    while (!assigned)
      std::this_thread::sleep_for(5ms); // sampling period
    start = clock_type::now();
    observer.count_from(start + warm_up);
    offer(env, topic, rate, total, sent);
    wait_observed();
    runner.join();
  }
  out.achieved = static_cast<double>(total) / seconds_since(start);
  if (observer.done() < total)
    throw std::runtime_error("latency run " + group + ": only " +
                             std::to_string(observer.done()) + " of " + std::to_string(total) +
                             " clicks reached the changelog");
  out.latencies = observer.latencies();
  return out;
}

/// The processor's sustained rate with the load generator beside it: clicks offered as fast
/// as possible for two seconds, processed records per second meanwhile.
double sustained_max(const bench_env& env) {
  std::string group = "bench-latency-max";
  auto topic = group + "-clicks";
  env.cluster.create_topic(topic, env.partitions, 3);
  env.cluster.create_topic(group + "-table", env.partitions, 3);
  clickcount_run run{env, group, topic, env.work / group, [](processor_config& cfg) {
                       cfg.consumer = low_latency;
                     }};
  run.wait_ready(static_cast<std::size_t>(env.partitions));
  std::atomic<bool> offering{true};
  std::thread load{[&] {
    // As fast as the processor takes them: the producer keeps at most 20,000 records ahead.
    kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
    uint64_t i = 0;
    while (offering) {
      if (i < run.stats().records + 20000)
        for (int n = 0; n < 1000; ++n, ++i)
          producer.produce(topic, -1, "user-" + std::to_string(i % keys), "click", nullptr);
      else
        std::this_thread::sleep_for(1ms); // pacing
    }
    producer.flush(std::chrono::seconds{60});
  }};
  std::this_thread::sleep_for(1s); // warm-up: the measurement starts after it
  auto before = run.stats().records;
  auto start = clock_type::now();
  std::this_thread::sleep_for(2s); // the measured window
  auto rate = static_cast<double>(run.stats().records - before) / seconds_since(start);
  offering = false;
  load.join();
  return rate;
}

} // namespace

nlohmann::json latency(const bench_env& env) {
  const double seconds = env.quick ? 3 : 6; // the first of them is warm-up
  // Tail latencies on a shared 2-core machine vary from run to run by more than the sides
  // differ: each side runs several rounds, the side going first alternating, and the median
  // round is reported.
  const int rounds = env.quick ? 1 : 3;
  auto max = sustained_max(env);
  std::printf("latency: produce -> counted and changelog acknowledged; sustained maximum with "
              "the load generator beside it: %.0f records/s; %g s per rate, the first not counted; "
              "consumers fetch.wait.max.ms=5; median of %d round(s)\n",
              max, seconds, rounds);
  std::printf("  load   offered/s   side       achieved/s   p50 ms   p99 ms (rounds)        "
              "p99.9 ms\n");
  nlohmann::json out{{"sustained_max_records_per_s", max},
                     {"seconds_per_rate", seconds},
                     {"rounds", rounds},
                     {"consumer", "fetch.wait.max.ms=5"},
                     {"rates", nlohmann::json::array()}};
  std::ofstream data{env.out / "latency.dat"};
  // Two fixed rates with Partita's defaults (what a user gets), then three fractions of the
  // maximum with both sides on fetch.wait.max.ms=5.
  struct load_point {
    double rate;
    std::string tag;
    bool defaults;
  };
  std::vector<load_point> points{{2000, "2k", true}, {20000, "20k", true}};
  for (double fraction : {0.25, 0.5, 0.75})
    points.push_back({max * fraction, std::to_string(static_cast<int>(fraction * 100)), false});
  for (const auto& [rate, tag, defaults] : points) {
    double fraction = rate / max;
    nlohmann::json entry{{"load", fraction},
                         {"offered_records_per_s", rate},
                         {"partita_consumer", defaults ? "defaults" : "fetch.wait.max.ms=5"}};
    std::map<bool, std::vector<double>> achieved, p50, p99, p999;
    for (int r = 0; r < rounds; ++r)
      for (bool partita : {r % 2 == 0, r % 2 != 0}) {
        auto res = measure(env, partita, tag + "-" + std::to_string(r), rate, seconds, defaults);
        achieved[partita].push_back(res.achieved);
        p50[partita].push_back(quantile(res.latencies, 0.5));
        p99[partita].push_back(quantile(res.latencies, 0.99));
        p999[partita].push_back(quantile(res.latencies, 0.999));
      }
    if (defaults)
      std::printf("  (at %.0f records/s Partita runs with its defaults)\n", rate);
    data << '"' << tag << (defaults ? "/s\"" : " %\"");
    for (bool partita : {true, false}) {
      auto [lo, hi] = std::minmax_element(p99[partita].begin(), p99[partita].end());
      std::printf("  %3.0f%%  %10.0f   %-9s  %11.0f   %6.1f   %6.1f (%5.1f-%5.1f)   %8.1f\n",
                  fraction * 100, rate, partita ? "Partita" : "baseline",
                  median(achieved[partita]), median(p50[partita]), median(p99[partita]), *lo,
                  *hi, median(p999[partita]));
      std::fflush(stdout);
      entry[partita ? "partita" : "baseline"] = {{"achieved_records_per_s", achieved[partita]},
                                                 {"p50_ms", p50[partita]},
                                                 {"p99_ms", p99[partita]},
                                                 {"p999_ms", p999[partita]},
                                                 {"p50_ms_median", median(p50[partita])},
                                                 {"p99_ms_median", median(p99[partita])},
                                                 {"p999_ms_median", median(p999[partita])}};
      data << ' ' << median(p50[partita]) << ' ' << median(p99[partita]);
    }
    data << '\n';
    out["rates"].push_back(entry);
  }
  data.close();
  plot(env, "latency",
       "set title 'End-to-end latency (produce -> counted, changelog acknowledged)'\n"
       "set ylabel 'ms'\nset style data histograms\nset style fill solid 0.8\n"
       "set boxwidth 0.9\nset yrange [0:*]\nset grid ytics\nset xlabel 'load (records/s, or "
       "of the sustained maximum)'\n"
       "plot '" + (env.out / "latency.dat").string() +
         "' using 2:xtic(1) title 'Partita p50', '' using 3 title 'Partita p99', "
         "'' using 4 title 'baseline p50', '' using 5 title 'baseline p99'\n");
  return out;
}

} // namespace partita::bench
