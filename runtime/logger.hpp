#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace partita {

/// The named logger of a module ("cluster", "processor", "consumer", ...), created on first use.
/// Every logger writes to stderr through the one sink chosen by configure_logging (text unless
/// told otherwise), at level `info` or the one `SPDLOG_LEVEL` names.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/// The logger of a module's work on one partition, named `<module>/<topic>/<partition>`: JSON
/// logs carry the topic and partition as fields of their own.
std::shared_ptr<spdlog::logger> logger(const std::string& name, const std::string& topic,
                                       int32_t partition);

/// Sets every logger's level (trace, debug, info, warn, error, off) and format: `text` (spdlog's
/// colored lines) or `json` (one object per line: time, level, logger, message, and topic and
/// partition where the logger has them). Call it before the threads that log start.
void configure_logging(const std::string& level, const std::string& format);

} // namespace partita
