// partita-clickcount: counts clicks per user. With --brokers it joins a real cluster; without,
// it starts the embedded cluster and a click emitter in-process and shows the counts rising.

#include "apps/clickcount_graph.hpp"
#include "apps/http_endpoint.hpp"
#include "runtime/embedded_cluster.hpp"
#include "runtime/emitter.hpp"
#include "runtime/logger.hpp"
#include "runtime/processor.hpp"
#include "runtime/signals.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>
#include <thread>

namespace {

/// Prints each user's count once a second while the demo runs.
void show_counts(const partita::processor& proc, const std::vector<std::string>& users) {
  std::string line = "counts:";
  for (const auto& u : users) {
    auto raw = proc.get(u);
    line += " " + u + "=" + (raw ? *raw : "0");
  }
  auto stats = proc.stats();
  std::cout << line << "  (" << stats.records << " records, " << stats.ready << "/"
            << stats.partitions << " partitions ready)" << std::endl;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-clickcount: counts clicks per user (Goka's click-count example). Without "
               "--brokers it runs the embedded cluster and a click emitter in-process."};
  std::string brokers;
  std::string group = "clickcount";
  std::string topic = "clicks";
  std::string state_dir = "state";
  std::string from = "earliest";
  int duration = 0;
  int stats_interval = 10;
  std::vector<std::string> kafka;
  std::string on_poison = "dead-letter";
  int poison_retries = 3;
  std::string http;
  std::vector<std::string> consumer;
  app.add_option("--brokers", brokers, "Kafka bootstrap servers host:port,... (default: start "
                                       "the embedded cluster)");
  app.add_option("--group", group, "consumer group and table name")->capture_default_str();
  app.add_option("--topic", topic, "input topic of clicks (key = user)")->capture_default_str();
  app.add_option("--state-dir", state_dir, "directory of the LMDB state")->capture_default_str();
  app.add_option("--from", from, "where a new group starts: earliest or latest")
    ->check(CLI::IsMember({"earliest", "latest"}))
    ->capture_default_str();
  app.add_option("--duration", duration,
                 "stop after this many seconds (0: run until SIGTERM; the embedded demo "
                 "defaults to 15)")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--stats-interval", stats_interval,
                 "with --brokers: log records processed and the rate every this many seconds "
                 "(0: never)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  app.add_option("--kafka", kafka,
                 "librdkafka property for every client, NAME=VALUE (repeatable), e.g. "
                 "security.protocol=ssl");
  app.add_option("--consumer", consumer,
                 "librdkafka property for the consumer only, NAME=VALUE (repeatable), e.g. "
                 "session.timeout.ms=10000");
  app.add_option("--http", http,
                 "serve /healthz, /readyz, /metrics and /tables/<group>-table/<key> on "
                 "HOST:PORT (e.g. 127.0.0.1:8080; off by default)");
  app.add_option("--on-poison", on_poison,
                 "a record that cannot be processed: retry (restart the partition with "
                 "backoff), dead-letter (after --poison-retries, to <group>-dlq) or "
                 "stop-partition")
    ->check(CLI::IsMember({"retry", "dead-letter", "stop-partition"}))
    ->capture_default_str();
  app.add_option("--poison-retries", poison_retries,
                 "attempts before a record is dead-lettered")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto log = partita::logger("clickcount");
  std::atomic<bool> stopping{false};
  partita::processor* running = nullptr;
  std::mutex mtx;
  partita::stop_on_signal([&] {
    std::lock_guard guard{mtx};
    stopping = true;
    if (running)
      running->stop();
  });

  try {
    std::unique_ptr<partita::embedded_cluster> cluster;
    partita::processor_config cfg;
    cfg.state_dir = state_dir;
    cfg.from = from == "latest" ? partita::start_from::latest : partita::start_from::earliest;
    partita::parse_kafka_properties(kafka, cfg.kafka);
    partita::parse_kafka_properties(consumer, cfg.consumer);
    cfg.on_poison = on_poison == "retry"            ? partita::poison_policy::retry
                    : on_poison == "stop-partition" ? partita::poison_policy::stop_partition
                                                    : partita::poison_policy::dead_letter;
    cfg.poison_retries = poison_retries;
    bool demo = brokers.empty();
    if (demo) {
      cluster = std::make_unique<partita::embedded_cluster>(3);
      cluster->create_topic(topic, 8, 3);
      cfg.cluster = cluster.get();
      brokers = cluster->bootstrap_servers();
      if (duration == 0)
        duration = 15;
      // The embedded cluster starts empty: so does the demo's state.
      std::filesystem::remove_all(std::filesystem::path{state_dir} / group);
    }
    cfg.brokers = brokers;
    partita::processor proc{cfg, partita::apps::clickcount_graph(group, topic)};
    std::unique_ptr<partita::http_endpoint> endpoint;
    if (!http.empty())
      endpoint = std::make_unique<partita::http_endpoint>(
        proc, partita::http_endpoint_config{http, group, [](std::string_view v) {
                                              return nlohmann::json(
                                                partita::int64_codec{}.decode(v));
                                            }});
    {
      std::lock_guard guard{mtx};
      running = &proc;
      if (stopping)
        proc.stop();
    }
    std::vector<std::string> users{"alice", "bob", "carol", "dave", "erin"};
    std::thread driver{[&] {
      // The demo's clicks: user i clicks i+1 times per round, 10 rounds a second.
      std::unique_ptr<partita::emitter<partita::string_codec>> clicks;
      if (demo)
        clicks = std::make_unique<partita::emitter<partita::string_codec>>(brokers, topic);
      auto start = std::chrono::steady_clock::now();
      auto interval = std::chrono::seconds{demo ? 1 : stats_interval};
      auto next_show = start + interval;
      uint64_t last_records = 0;
      while (!stopping) {
        auto now = std::chrono::steady_clock::now();
        if (duration > 0 && now - start >= std::chrono::seconds{duration})
          break;
        if (clicks)
          for (size_t u = 0; u < users.size(); ++u)
            for (size_t n = 0; n <= u; ++n)
              clicks->emit(users[u], "click");
        if (interval.count() > 0 && now >= next_show) {
          if (demo) {
            show_counts(proc, users);
          } else {
            auto stats = proc.stats();
            log->info("{} records, {:.0f}/s; {}/{} partitions ready, {} failed", stats.records,
                      static_cast<double>(stats.records - last_records) /
                        static_cast<double>(interval.count()),
                      stats.ready, stats.partitions, stats.failed);
            last_records = stats.records;
          }
          next_show += interval;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
      if (clicks)
        clicks->flush();
      proc.stop();
    }};
    try {
      proc.run();
    } catch (...) {
      stopping = true;
      driver.join();
      throw;
    }
    driver.join();
    {
      std::lock_guard guard{mtx};
      running = nullptr;
    }
  } catch (const partita::config_error& e) {
    log->error("{}", e.what());
    return 2;
  } catch (const partita::graph_error& e) {
    log->error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 1;
  }
  return 0;
}
