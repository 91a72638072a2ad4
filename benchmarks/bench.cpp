#include "benchmarks/bench.hpp"

#include "apps/clickcount_graph.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/kafka_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <sys/resource.h>

namespace partita::bench {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

long resident_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:"))
      return std::stol(line.substr(6));
  return 0;
}

double median(std::vector<double> v) {
  return quantile(std::move(v), 0.5);
}

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void preload(const bench_env& env, const std::string& topic, uint64_t records, int keys) {
  kafka_producer producer{{{"bootstrap.servers", env.bootstrap}}};
  for (uint64_t i = 0; i < records; ++i)
    producer.produce(topic, -1, "user-" + std::to_string(i % static_cast<uint64_t>(keys)),
                     "click", nullptr);
  if (!producer.flush(std::chrono::seconds{120}))
    throw std::runtime_error("preloading " + topic + ": records not acknowledged");
}

std::map<std::string, int64_t> count_keys(const bench_env& env, const std::string& topic) {
  char err[512];
  auto* conf = make_kafka_conf({{"bootstrap.servers", env.bootstrap},
                                {"group.id", topic + "-counter"},
                                {"enable.auto.commit", "false"},
                                {"fetch.wait.max.ms", "10"},
                                {"log_level", "3"}});
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr)
    throw std::runtime_error(err);
  std::map<int32_t, int64_t> high;
  auto* parts = rd_kafka_topic_partition_list_new(env.partitions);
  for (int p = 0; p < env.partitions; ++p) {
    int64_t lo = 0;
    int64_t hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000) != 0)
      throw std::runtime_error("watermarks of " + topic);
    if (hi > lo) {
      high[p] = hi;
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = lo;
    }
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::map<std::string, int64_t> out;
  auto* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> msgs(10000);
  auto deadline = clock_type::now() + std::chrono::seconds{120};
  while (!high.empty() && clock_type::now() < deadline) {
    auto n = rd_kafka_consume_batch_queue(queue, 100, msgs.data(), msgs.size());
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[i];
      if (m->err == 0 && high.count(m->partition) > 0) {
        ++out[std::string{static_cast<const char*>(m->key), m->key_len}];
        if (m->offset + 1 >= high[m->partition])
          high.erase(m->partition);
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!high.empty())
    throw std::runtime_error("reading " + topic + " did not reach its end");
  return out;
}

clickcount_run::clickcount_run(const bench_env& env, const std::string& group,
                               const std::string& topic, const std::filesystem::path& state,
                               const std::function<void(processor_config&)>& tune)
  : clickcount_run(env, apps::clickcount_graph(group, topic), state, tune) {}

clickcount_run::clickcount_run(const bench_env& env, const group_graph<int64_codec>& graph,
                               const std::filesystem::path& state,
                               const std::function<void(processor_config&)>& tune)
  : proc_(config(env, state, tune), graph) {
  thread_ = std::thread{[this] {
    try {
      proc_.run();
    } catch (const std::exception& e) {
      error_ = e.what();
      failed_ = true;
    }
  }};
}

clickcount_run::~clickcount_run() {
  proc_.stop();
  thread_.join();
}

processor_stats clickcount_run::stats() const {
  if (failed_)
    throw std::runtime_error("partita run failed: " + error_);
  return proc_.stats();
}

double clickcount_run::wait_ready(std::size_t n, std::chrono::seconds timeout) {
  auto start = clock_type::now();
  while (clock_type::now() - start < timeout) {
    auto s = stats();
    if (s.partitions == n && s.ready == n)
      return seconds_since(start);
    std::this_thread::sleep_for(std::chrono::milliseconds{2}); // sampling period
  }
  throw std::runtime_error("partitions not ready within " + std::to_string(timeout.count()) +
                           " s");
}

processor_config clickcount_run::config(const bench_env& env, const std::filesystem::path& state,
                                        const std::function<void(processor_config&)>& tune) {
  processor_config cfg;
  cfg.brokers = env.bootstrap;
  cfg.state_dir = state;
  cfg.cluster = &env.cluster;
  if (tune)
    tune(cfg);
  return cfg;
}

bool plot(const bench_env& env, const std::string& name, const std::string& script) {
  auto path = env.out / (name + ".gp");
  std::ofstream{path} << "set terminal pngcairo size 1000,500 font 'sans,10'\n"
                      << "set output '" << (env.out / (name + ".png")).string() << "'\n"
                      << script;
  auto command = "gnuplot '" + path.string() + "' 2>&1";
  auto* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buf[256];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr)
    output += buf;
  int status = pipe != nullptr ? ::pclose(pipe) : -1;
  if (status != 0) {
    std::cerr << "plot " << name << " failed (is gnuplot installed? make deps): " << output;
    return false;
  }
  std::cout << "  plot: " << (env.out / (name + ".png")).string() << "\n";
  return true;
}

} // namespace partita::bench
