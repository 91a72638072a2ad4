#include "runtime/signals.hpp"

#include "runtime/logger.hpp"

#include <csignal>
#include <cstdlib>
#include <thread>

#include <pthread.h>

namespace partita {

void stop_on_signal(std::function<void()> on_stop) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread{[signals, on_stop = std::move(on_stop)] {
    int sig = 0;
    sigwait(&signals, &sig);
    logger("processor")->info("{}: stopping (a second signal exits at once)",
                              sig == SIGINT ? "SIGINT" : "SIGTERM");
    on_stop();
    sigwait(&signals, &sig);
    std::_Exit(130);
  }}.detach();
}

} // namespace partita
