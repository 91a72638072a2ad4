// partita-emit: a load generator. Sends --count records over --keys keys (key-prefix + i % keys)
// to a topic, at --rate records/s (0: as fast as possible), and reports what was acknowledged.

#include "apps/service_options.hpp"
#include "runtime/emitter.hpp"
#include "runtime/logger.hpp"
#include "runtime/signals.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  CLI::App app{"partita-emit: produce keyed records to a topic and report the acknowledgements"};
  std::string brokers;
  std::string topic = "clicks";
  std::string prefix = "user-";
  std::string value = "click";
  int64_t keys = 100;
  int64_t count = 1000;
  double rate = 0;
  app.add_option("--brokers", brokers, "Kafka bootstrap servers host:port,...")->required();
  app.add_option("--topic", topic, "topic to produce to")->capture_default_str();
  app.add_option("--keys", keys, "number of distinct keys")
    ->check(partita::at_least(1))
    ->capture_default_str();
  app.add_option("--count", count, "records to send")
    ->check(partita::at_least(0))
    ->capture_default_str();
  app.add_option("--rate", rate, "records per second (0: as fast as possible)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  app.add_option("--key-prefix", prefix, "key prefix; keys are <prefix><i % keys>")
    ->capture_default_str();
  app.add_option("--value", value, "value of every record")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::atomic<bool> stop{false};
  partita::stop_on_signal([&] { stop = true; });
  auto log = partita::logger("emit");
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  int64_t sent = 0;
  try {
    partita::emitter<partita::string_codec> out{brokers, topic};
    auto start = std::chrono::steady_clock::now();
    for (; sent < count && !stop; ++sent) {
      if (rate > 0) {
        auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(sent / rate));
        std::this_thread::sleep_until(due);
      }
      out.emit(prefix + std::to_string(sent % keys), value, [&](const partita::delivery& d) {
        if (d.ok()) {
          ++acked;
        } else if (failed++ == 0) {
          log->error("delivery failed: {}", d.message());
        }
      });
    }
    while (!out.flush(std::chrono::seconds{5}))
      log->warn("waiting for {} acknowledgements", sent - acked - failed);
    double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "sent " << sent << " records to " << topic << " over " << keys
              << " keys in " << secs << " s; acknowledged " << acked << ", failed " << failed
              << std::endl;
  } catch (const partita::config_error& e) {
    log->error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 1;
  }
  return failed == 0 && acked == sent ? 0 : 1;
}
