// partita-timer-member: a group member for the timer fault tests (test/actors/timer_faults.cpp).
// Every record of `events` schedules one timer for its key after --delay-ms; the table counts,
// per key, the timers set and the timers fired, as "<set>/<fired>". With every timer fired,
// each key's value is "<n>/<n>" for the n records the key has in `events`: a timer lost, fired
// twice, or kept from a batch the changelogs left out shows as a difference.

#include "apps/http_endpoint.hpp"
#include "apps/service_options.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"
#include "runtime/signals.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <mutex>

using namespace partita;

namespace {

std::pair<int64_t, int64_t> counts(const std::optional<std::string>& v) {
  if (!v)
    return {0, 0};
  auto slash = v->find('/');
  return {std::stoll(v->substr(0, slash)), std::stoll(v->substr(slash + 1))};
}

std::string text(std::pair<int64_t, int64_t> c) {
  return std::to_string(c.first) + "/" + std::to_string(c.second);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-timer-member: one timer per record, counted when set and when fired"};
  service_options options{app};
  std::string group = "t";
  int64_t delay_ms = 300;
  app.add_option("--group", group)->capture_default_str();
  app.add_option("--delay-ms", delay_ms)->check(at_least(0))->capture_default_str();
  if (auto code = options.parse(argc, argv))
    return *code;
  const auto& settings = options.settings();

  group_graph<string_codec> graph{group};
  graph.input("events", bytes_codec{}, [delay_ms](context<string_codec>& ctx, const std::string&) {
    auto c = counts(ctx.value());
    ++c.first;
    ctx.set_value(text(c));
    ctx.schedule(std::chrono::milliseconds{delay_ms}, int64_t{c.first});
  });
  graph.on_timer(int64_codec{}, [](context<string_codec>& ctx, const int64_t&) {
    auto c = counts(ctx.value());
    ++c.second;
    ctx.set_value(text(c));
  });
  // Before any thread starts, so that every thread leaves SIGTERM to the handler.
  std::mutex mtx;
  processor* running = nullptr;
  bool stopping = false;
  stop_on_signal(
    [&] {
      std::lock_guard guard{mtx};
      stopping = true;
      if (running)
        running->stop();
    },
    settings.shutdown_timeout);
  try {
    processor proc{settings.processor, graph};
    std::unique_ptr<http_endpoint> endpoint;
    if (!settings.http.empty())
      endpoint = std::make_unique<http_endpoint>(
        proc, http_endpoint_config{settings.http, group, {}, {}});
    {
      std::lock_guard guard{mtx};
      running = &proc;
      if (stopping)
        proc.stop();
    }
    proc.run();
    std::lock_guard guard{mtx};
    running = nullptr;
  } catch (const std::exception& e) {
    std::cerr << "partita-timer-member: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
