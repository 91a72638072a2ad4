// partita-time-member: a group member for the fault tests of time (test/actors/timer_faults.cpp,
// window_faults.cpp). Every record of `events` schedules one timer for its key after
// --delay-ms (unless --no-timers); the table counts, per key, the timers set and the timers
// fired, as "<set>/<fired>". With every timer fired, each key's value is "<n>/<n>" for the n
// records the key has in `events`: a timer lost, fired twice, or kept from a batch the
// changelogs left out shows as a difference. With --windows, each record also counts in the
// windowed table "per-window" (tumbling, --window-ms long, --grace-ms of grace, kept a week),
// by its timestamp; closed windows go to `<group>-results`. With --echo (and no --windows),
// each record's key goes to `<group>-results` too: batches with outputs and table records.
// With --visitor, visitor "fire" (int64 value n) adds n to every key's fired count, waiting
// --visit-delay-us per key (test/actors/visits.cpp). With --defer-ms D, each record's commit
// is deferred and its handle called D ms later by a thread of its own, as another system would
// (test/actors/deferred_commits.cpp).

#include "apps/http_endpoint.hpp"
#include "apps/service_options.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"
#include "runtime/signals.hpp"

#include <CLI/CLI.hpp>

#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

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

/// Calls each commit handle it is given `delay` later, on a thread of its own.
class delayed_commits {
public:
  explicit delayed_commits(std::chrono::milliseconds delay)
    : delay_(delay), thread_([this] { loop(); }) {}
  ~delayed_commits() {
    {
      std::lock_guard lock{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void take(commit_handle h) {
    std::lock_guard lock{mtx_};
    queue_.emplace_back(std::chrono::steady_clock::now() + delay_, std::move(h));
    cv_.notify_one();
  }

private:
  void loop() {
    std::unique_lock lock{mtx_};
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = queue_.front().first;
      if (cv_.wait_until(lock, due) == std::cv_status::no_timeout)
        continue; // woken: look again
      auto h = std::move(queue_.front().second);
      queue_.pop_front();
      lock.unlock();
      h.done();
      lock.lock();
    }
  }
  std::chrono::milliseconds delay_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, commit_handle>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"partita-time-member: one timer per record, counted when set and when fired; "
               "with --windows, a count per key and window too"};
  service_options options{app};
  std::string group = "t";
  int64_t delay_ms = 300;
  app.add_option("--group", group)->capture_default_str();
  app.add_option("--delay-ms", delay_ms)->check(at_least(0))->capture_default_str();
  bool no_timers = false;
  bool windows = false;
  int64_t window_ms = 60000;
  int64_t grace_ms = 10000;
  app.add_flag("--no-timers", no_timers, "set no timers");
  app.add_flag("--windows", windows, "count records per key and window");
  bool echo = false;
  app.add_flag("--echo", echo, "emit each record's key to <group>-results");
  bool visitor = false;
  int64_t visit_delay_us = 0;
  app.add_flag("--visitor", visitor, "visitor 'fire' adds its value to each key's fired count");
  app.add_option("--visit-delay-us", visit_delay_us)->check(at_least(0))->capture_default_str();
  app.add_option("--window-ms", window_ms)->check(at_least(1))->capture_default_str();
  app.add_option("--grace-ms", grace_ms)->check(at_least(0))->capture_default_str();
  int64_t defer_ms = -1;
  app.add_option("--defer-ms", defer_ms, "defer each record's commit this long")
    ->check(at_least(0));
  if (auto code = options.parse(argc, argv))
    return *code;
  const auto& settings = options.settings();

  group_graph<string_codec> graph{group};
  if (windows)
    graph.windowed("per-window",
                   window_spec::tumbling(std::chrono::milliseconds{window_ms})
                     .with_grace(std::chrono::milliseconds{grace_ms})
                     .with_retention(std::chrono::hours{24 * 7}),
                   int64_codec{}, group + "-results");
  bool timers = !no_timers;
  auto echoes = group + "-results";
  if (echo && !windows)
    graph.output(echoes, string_codec{});
  std::unique_ptr<delayed_commits> deferred; // created once signals are blocked, below
  graph.input("events", bytes_codec{},
              [delay_ms, timers, windows, echo, echoes,
               &deferred](context<string_codec>& ctx, const std::string&) {
                auto c = counts(ctx.value());
                ++c.first;
                ctx.set_value(text(c));
                if (timers)
                  ctx.schedule(std::chrono::milliseconds{delay_ms}, int64_t{c.first});
                if (windows)
                  ctx.update_windows<int64_t>([](std::optional<int64_t> n) {
                    return n.value_or(0) + 1;
                  });
                if (echo)
                  ctx.emit(echoes, ctx.key(), std::string{ctx.key()});
                if (deferred)
                  deferred->take(ctx.defer_commit());
              });
  if (timers)
    graph.on_timer(int64_codec{}, [](context<string_codec>& ctx, const int64_t&) {
      auto c = counts(ctx.value());
      ++c.second;
      ctx.set_value(text(c));
    });
  if (visitor)
    graph.visitor("fire", int64_codec{},
                  [visit_delay_us](context<string_codec>& ctx, const int64_t& n) {
                    std::this_thread::sleep_for(std::chrono::microseconds{visit_delay_us});
                    auto c = counts(ctx.value());
                    c.second += n;
                    ctx.set_value(text(c));
                  });
  // Before any thread starts, so that every thread leaves SIGTERM to the handler.
  stop_slot slot;
  stop_on_signal([&] { slot.stop(); }, settings.shutdown_timeout);
  if (defer_ms >= 0)
    deferred = std::make_unique<delayed_commits>(std::chrono::milliseconds{defer_ms});
  try {
    processor proc{settings.processor, graph};
    std::unique_ptr<http_endpoint> endpoint;
    if (!settings.http.empty())
      endpoint = std::make_unique<http_endpoint>(
        proc, http_endpoint_config{settings.http, {}, {}, {}});
    auto held = slot.hold(proc);
    proc.run();
  } catch (const std::exception& e) {
    std::cerr << "partita-time-member: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
