#include "runtime/logger.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace partita {

namespace {

/// One JSON object per line on stderr. A logger named `module/topic/partition` gives the fields
/// logger, topic and partition.
class json_sink : public spdlog::sinks::base_sink<std::mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    using namespace std::chrono;
    auto t = system_clock::to_time_t(msg.time);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char stamp[32];
    auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));
    std::string name{msg.logger_name.data(), msg.logger_name.size()};
    nlohmann::ordered_json line{{"time", stamp},
                        {"level", std::string{spdlog::level::to_string_view(msg.level).data(),
                                              spdlog::level::to_string_view(msg.level).size()}}};
    auto first = name.find('/');
    auto last = name.rfind('/');
    if (first != std::string::npos && last > first) {
      line["logger"] = name.substr(0, first);
      line["topic"] = name.substr(first + 1, last - first - 1);
      try {
        line["partition"] = std::stoi(name.substr(last + 1));
      } catch (const std::exception&) {
        line["partition"] = name.substr(last + 1);
      }
    } else {
      line["logger"] = name;
    }
    line["message"] = std::string{msg.payload.data(), msg.payload.size()};
    auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

struct log_setup {
  std::mutex mtx;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  /// `SPDLOG_LEVEL` (e.g. debug) until configure_logging says otherwise.
  spdlog::level::level_enum level = std::getenv("SPDLOG_LEVEL") != nullptr
                                      ? spdlog::level::from_str(std::getenv("SPDLOG_LEVEL"))
                                      : spdlog::level::info;
};

log_setup& setup() {
  static log_setup s;
  return s;
}

} // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  auto& s = setup();
  std::lock_guard guard{s.mtx};
  if (auto existing = spdlog::get(name))
    return existing;
  auto result = std::make_shared<spdlog::logger>(name, s.sink);
  result->set_level(s.level);
  spdlog::register_logger(result);
  return result;
}

std::shared_ptr<spdlog::logger> logger(const std::string& name, const std::string& topic,
                                       int32_t partition) {
  return logger(name + "/" + topic + "/" + std::to_string(partition));
}

void configure_logging(const std::string& level, const std::string& format) {
  auto& s = setup();
  std::lock_guard guard{s.mtx};
  s.level = spdlog::level::from_str(level);
  if (format == "json")
    s.sink = std::make_shared<json_sink>();
  else
    s.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto default_logger = std::make_shared<spdlog::logger>("partita", s.sink);
  spdlog::set_default_logger(default_logger);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks() = {s.sink};
    l->set_level(s.level);
  });
}

} // namespace partita
