#pragma once

#include <functional>

namespace partita {

/// Calls `on_stop` (on a thread of its own) at the first SIGINT or SIGTERM; a second one ends
/// the process at once with code 130. Call it before starting any other thread, so that every
/// thread inherits the blocked signals.
void stop_on_signal(std::function<void()> on_stop);

} // namespace partita
