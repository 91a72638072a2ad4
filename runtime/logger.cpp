#include "runtime/logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace partita {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mtx;
  std::lock_guard guard{mtx};
  if (auto existing = spdlog::get(name))
    return existing;
  auto result = spdlog::stderr_color_mt(name);
  result->set_level(spdlog::get_level());
  return result;
}

} // namespace partita
