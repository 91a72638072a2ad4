// Timers: how fast a partition fires its timers with 1,000,000 pending (200,000 quick). Each
// input record sets one timer for its key, due at one moment after every timer is set; when it
// comes, each timer adds 1 to its key's table value. Measured: from that moment to the last
// timer fired (its effects acknowledged), against a hand-written loop doing the same work with
// the same store and cluster: LMDB timers ordered by due time, popped 10,000 at a time (as a
// partition fires them) with the table's read-modify-write in one transaction, the tombstones
// and the table records produced and acknowledged before the next chunk.

#include "actors/timer_format.hpp"
#include "benchmarks/bench.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/kafka_producer.hpp"

#include <cstdio>
#include <iostream>

namespace partita::bench {

namespace {

using namespace std::chrono_literals;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

int64_t sum_of(const processor& proc, std::string_view name, std::string_view topic = {}) {
  int64_t sum = 0;
  for (const auto& s : proc.metrics().samples())
    if (s.name == name && (topic.empty() || std::find(s.tags.begin(), s.tags.end(),
                                                      std::pair<std::string, std::string>{
                                                        "topic", std::string{topic}}) !=
                                              s.tags.end()))
      sum += static_cast<int64_t>(s.value);
  return sum;
}

/// The records `topic` holds (its high watermarks summed), through one client.
class topic_size {
public:
  topic_size(const bench_env& env, std::string topic) : env_(env), topic_(std::move(topic)) {
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER,
                       make_kafka_conf({{"bootstrap.servers", env.bootstrap},
                                        {"group.id", topic_ + "-size"},
                                        {"log_level", "3"}}),
                       err, sizeof err);
    if (rk_ == nullptr)
      throw std::runtime_error(err);
  }
  ~topic_size() { rd_kafka_destroy(rk_); }
  int64_t operator()() const {
    int64_t sum = 0;
    for (int p = 0; p < env_.partitions; ++p) {
      int64_t lo = 0;
      int64_t hi = 0;
      if (auto err = rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &lo, &hi, 10000))
        throw std::runtime_error("watermarks of " + topic_ + ": " + rd_kafka_err2str(err));
      sum += hi;
    }
    return sum;
  }

private:
  const bench_env& env_;
  std::string topic_;
  rd_kafka_t* rk_;
};

/// The hand-written side: `timers` timers over the partitions' stores, all due now; returns the
/// seconds to fire them all.
double baseline(const bench_env& env, uint64_t timers, int keys) {
  std::vector<std::unique_ptr<partition_store>> stores;
  int64_t due = now_ms() - 1;
  for (int p = 0; p < env.partitions; ++p) {
    stores.push_back(
      std::make_unique<partition_store>(store_config{env.work / "timers-baseline" / std::to_string(p)}));
    partition_store::write_batch batch{*stores.back()};
    for (auto i = static_cast<uint64_t>(p); i < timers; i += static_cast<uint64_t>(env.partitions))
      batch.set_side(side::timers, encode_timer_key({due, i}),
                      encode_timer_value("user-" + std::to_string(i % static_cast<uint64_t>(keys)), ""));
    batch.commit();
  }
  kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
  auto start = clock_type::now();
  std::vector<std::thread> workers;
  for (int p = 0; p < env.partitions; ++p)
    workers.emplace_back([&, p] {
      auto& store = *stores[static_cast<std::size_t>(p)];
      for (;;) {
        std::vector<std::pair<std::string, std::string>> chunk;
        store.scan_side(side::timers, {}, [&](std::string_view k, std::string_view v) {
          chunk.emplace_back(k, v);
          return chunk.size() < 10000;
        });
        if (chunk.empty())
          return;
        partition_store::write_batch batch{store};
        for (const auto& [k, v] : chunk) {
          auto key = decode_timer_value(v).key;
          auto n = batch.get(key);
          batch.put(key, std::to_string((n ? std::stoll(*n) : 0) + 1));
          batch.set_side(side::timers, k, std::nullopt);
        }
        batch.commit();
        std::atomic<int> left{0};
        struct ack final : delivery_handler {
          std::atomic<int>* left;
          void delivered(rd_kafka_resp_err_t, int32_t, int64_t) override { --*left; }
        } done;
        done.left = &left;
        left = static_cast<int>(chunk.size() + batch.changes().size());
        for (const auto& [k, v] : chunk)
          producer.produce("bench-timers-base-timers", p, k, {}, &done, nullptr);
        for (const auto& [k, v] : batch.changes())
          producer.produce("bench-timers-base-table", p, k, *v, &done, nullptr);
        while (left > 0)
          std::this_thread::sleep_for(100us); // waiting for the acknowledgements
      }
    });
  for (auto& w : workers)
    w.join();
  return seconds_since(start);
}

} // namespace

nlohmann::json timers(const bench_env& env) {
  const uint64_t count = env.quick ? 200000 : 1000000;
  const int keys = 100000;
  std::string group = "bench-timers";
  std::string input = group + "-input";
  for (const auto& t : {input, group + "-table", group + "-timers", group + "-dlq",
                        std::string{"bench-timers-base-timers"}, std::string{"bench-timers-base-table"}})
    env.cluster.create_topic(t, env.partitions, 1);
  std::cout << "timers: " << count << " pending over " << env.partitions
            << " partitions, all due at once; fired per second\n";
  // Due once every timer is set: far enough ahead, moved up by hand below if the setting is
  // quicker (the due time is the payload's).
  std::atomic<int64_t> fire_at{now_ms() + 3'600'000};
  group_graph<int64_codec> graph{group};
  graph.input(input, string_codec{}, [&](context<int64_codec>& ctx, const std::string&) {
    ctx.schedule_at(std::chrono::system_clock::time_point{std::chrono::milliseconds{fire_at.load()}},
                    int64_t{0});
  });
  graph.on_timer(int64_codec{}, [](context<int64_codec>& ctx, const int64_t&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  // The processor's clock runs ahead by this once every timer is set.
  auto offset_ms = std::make_shared<std::atomic<int64_t>>(0);
  clickcount_run run{env, graph, env.work / group, [&](processor_config& cfg) {
                       cfg.clock = [offset_ms] { return now_ms() + offset_ms->load(); };
                     }};
  preload(env, input, count, keys);
  auto set_start = clock_type::now();
  while (sum_of(run.proc(), "partita_timers_pending") < static_cast<int64_t>(count) ||
         run.stats().records < count)
    std::this_thread::sleep_for(5ms); // sampling period
  auto fired_topic = group + "-timers";
  topic_size timers_log{env, fired_topic};
  // Set once every timer's record is acknowledged in the timers changelog, beside the owner
  // marker of each partition.
  auto set_records = static_cast<int64_t>(count) + env.partitions;
  while (timers_log() < set_records)
    std::this_thread::sleep_for(5ms); // sampling period
  double set_s = seconds_since(set_start);
  auto before = timers_log();
  // Every timer is set: move the processor's clock to their due time. The partitions look at
  // their timers at least once a second; the count starts with the first timer fired.
  *offset_ms = fire_at - now_ms();
  while (sum_of(run.proc(), "partita_records_processed_total", fired_topic) == 0)
    std::this_thread::sleep_for(1ms); // sampling period
  auto start = clock_type::now();
  // Fired once every timer's tombstone is acknowledged in the timers changelog (the table
  // records of the last batch follow within a round trip).
  while (timers_log() < before + static_cast<int64_t>(count))
    std::this_thread::sleep_for(5ms); // sampling period
  double secs = seconds_since(start);
  auto fired = sum_of(run.proc(), "partita_records_processed_total", fired_topic);
  double rate = static_cast<double>(count) / secs;
  double base_s = baseline(env, count, keys);
  double base_rate = static_cast<double>(count) / base_s;
  std::printf("  set %llu timers in %.2f s; fired %lld in %.2f s: %.0f timers/s; "
              "hand-written loop %.0f timers/s; ratio %.2f\n",
              static_cast<unsigned long long>(count), set_s, static_cast<long long>(fired), secs,
              rate, base_rate, rate / base_rate);
  return {{"pending", count},      {"set_s", set_s},           {"fire_s", secs},
          {"fired", fired},        {"timers_per_s", rate},     {"baseline_timers_per_s", base_rate},
          {"ratio", rate / base_rate}};
}

} // namespace partita::bench
