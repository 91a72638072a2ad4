#include "runtime/signals.hpp"

#include "runtime/logger.hpp"

#include <csignal>
#include <cstdlib>
#include <thread>

#include <pthread.h>

namespace partita {

void stop_on_signal(std::function<void()> on_stop, std::chrono::milliseconds shutdown_timeout) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread{[signals, shutdown_timeout, on_stop = std::move(on_stop)] {
    auto log = logger("processor");
    int sig = 0;
    sigwait(&signals, &sig);
    log->info("{}: stopping (a second signal exits at once)",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
    on_stop();
    if (shutdown_timeout.count() > 0) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(shutdown_timeout);
      timespec wait{static_cast<time_t>(secs.count()),
                    static_cast<long>((shutdown_timeout - secs).count() * 1000000)};
      if (sigtimedwait(&signals, nullptr, &wait) < 0) {
        log->error("shutdown took longer than {} ms (--shutdown-timeout): exiting now; records "
                   "not committed are processed again at the next start",
                   shutdown_timeout.count());
        log->flush();
        std::_Exit(1);
      }
    } else {
      sigwait(&signals, &sig);
    }
    std::_Exit(130);
  }}.detach();
}

} // namespace partita
