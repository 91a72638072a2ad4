#pragma once

#include <chrono>
#include <functional>

namespace partita {

/// Calls `on_stop` (on a thread of its own) at the first SIGINT or SIGTERM; a second one ends
/// the process at once with code 130, and so does `shutdown_timeout` passing after the first
/// (code 1; zero: no limit). Call it before starting any other thread, so that every thread
/// inherits the blocked signals.
void stop_on_signal(std::function<void()> on_stop,
                    std::chrono::milliseconds shutdown_timeout = std::chrono::milliseconds{0});

} // namespace partita
