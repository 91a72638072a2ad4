#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace partita {

/// The named logger of a module ("cluster", "processor", "partition", ...), created on first use.
/// Each writes to stderr through the one sink configured by set_log_format (text by default).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

} // namespace partita
