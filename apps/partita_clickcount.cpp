// partita-clickcount: counts clicks per user. With --brokers it joins a real cluster; without,
// it starts the embedded cluster and a click emitter in-process and shows the counts rising.

#include "apps/clickcount_graph.hpp"
#include "apps/http_endpoint.hpp"
#include "apps/service_options.hpp"
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
  partita::service_options options{app};
  std::string group = "clickcount";
  std::string topic = "clicks";
  int duration = 0;
  int stats_interval = 10;
  app.add_option("--group", group, "consumer group and table name")->capture_default_str();
  app.add_option("--topic", topic, "input topic of clicks (key = user)")->capture_default_str();
  app.add_option("--duration", duration,
                 "stop after this many seconds (0: run until SIGTERM; the embedded demo "
                 "defaults to 15)")
    ->check(partita::at_least(0))
    ->capture_default_str();
  app.add_option("--stats-interval", stats_interval,
                 "with --brokers: log records processed and the rate every this many seconds "
                 "(0: never)")
    ->check(partita::at_least(0))
    ->capture_default_str();
  if (auto code = options.parse(argc, argv))
    return *code;
  const auto& settings = options.settings();

  auto log = partita::logger("clickcount");
  partita::stop_slot slot;
  partita::stop_on_signal([&] { slot.stop(); }, settings.shutdown_timeout);

  try {
    std::unique_ptr<partita::embedded_cluster> cluster;
    auto cfg = settings.processor;
    bool demo = cfg.brokers.empty() && !cfg.kafka.contains("bootstrap.servers");
    if (demo) {
      cluster = std::make_unique<partita::embedded_cluster>(3);
      cluster->create_topic(topic, 8, 3);
      cfg.cluster = cluster.get();
      cfg.brokers = cluster->bootstrap_servers();
      if (duration == 0)
        duration = 15;
      // The embedded cluster starts empty: so does the demo's state.
      std::filesystem::remove_all(cfg.state_dir / group);
    }
    const auto brokers = cfg.brokers;
    partita::processor proc{cfg, partita::apps::clickcount_graph(group, topic)};
    std::unique_ptr<partita::http_endpoint> endpoint;
    if (!settings.http.empty())
      endpoint = std::make_unique<partita::http_endpoint>(
        proc, partita::http_endpoint_config{settings.http, [](std::string_view v) {
                                              return nlohmann::json(
                                                partita::int64_codec{}.decode(v));
                                            },
                                            {}, {}});
    auto held = slot.hold(proc);
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
      while (!slot.stopping()) {
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
      slot.stop();
      driver.join();
      throw;
    }
    driver.join();
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
