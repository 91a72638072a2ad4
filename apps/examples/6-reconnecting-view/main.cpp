// Goka's 6-reconnecting-view: a view that rides out a broker outage. A processor counts clicks
// into its table and a view follows the table, printing each change of its state. On the
// embedded cluster, stdin is the cluster's control pipe (partita-cluster's commands): type
// `down 1`, `down 2`, `down 3` and the view goes `connecting`; `up 1` ... and it catches up and is
// `running` again, without a restart. Goka's views need WithViewAutoReconnect for this.
//
//   example-6-reconnecting-view                 # then type: down 1 / down 2 / down 3 / up 1 ...
//   example-6-reconnecting-view --records 300   # emit 300 clicks, take every broker down while
//                                               # the view runs, bring them back, print the counts

#include "apps/examples/example.hpp"
#include "runtime/cluster_control.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

#include <poll.h>
#include <unistd.h>

using namespace partita;

namespace {

/// Reads partita-cluster's control commands from stdin and applies them, until stdin ends or
/// `stop` is set (looked at every 200 ms).
void control_pipe(embedded_cluster& cluster, std::atomic<bool>& stop) {
  std::string pending;
  char buf[4096];
  while (!stop) {
    pollfd in{0, POLLIN, 0};
    if (::poll(&in, 1, 200) <= 0)
      continue;
    auto got = ::read(0, buf, sizeof buf);
    if (got <= 0)
      return; // stdin ended
    pending.append(buf, static_cast<std::size_t>(got));
    for (auto eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n')) {
      auto result = apply_control_command(cluster, pending.substr(0, eol));
      pending.erase(0, eol + 1);
      std::cout << (result.outcome == control_result::kind::refused ? "error: " : "ok: ")
                << result.message << std::endl;
      if (result.outcome == control_result::kind::quit)
        stop = true;
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-6-reconnecting-view",
    "Goka's reconnecting view (a view that rides out a broker outage)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{settings, {"user-click"}, {"reconnect"}};

      group_graph<int64_codec> graph{"reconnect"};
      graph.input("user-click", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
        ctx.set_value(ctx.value().value_or(0) + 1);
      });
      processor proc{cluster.processor_settings(), graph};
      examples::background processing{proc, stop};
      examples::wait_for([&] { return proc.running(); }, stop);

      view<int64_codec> clicks{cluster.view_settings(), "reconnect-table"};
      clicks.on_state_change([&](view_state s) {
        std::cout << "view: " << to_string(s) << " (" << clicks.stats().keys << " keys)"
                  << std::endl;
      });
      examples::background viewing{clicks, stop};
      auto total = [&] {
        int64_t sum = 0;
        clicks.for_each([&](std::string_view, const int64_t& n) {
          sum += n;
          return true;
        });
        return sum;
      };

      emitter<string_codec> emit{cluster.brokers(), "user-click"};
      if (records == 0) {
        std::thread pipe;
        if (auto* embedded = cluster.embedded())
          pipe = std::thread{[&, embedded] { control_pipe(*embedded, stop); }};
        examples::emit_every(std::chrono::milliseconds{100}, 0, stop, [&](int64_t i) {
          emit.emit("user-" + std::to_string(i % 10), "click");
        });
        if (pipe.joinable())
          pipe.join();
        return 0;
      }
      examples::emit_every({}, records, stop, [&](int64_t i) {
        emit.emit("user-" + std::to_string(i % 10), "click");
      });
      emit.flush();
      if (!examples::wait_for([&] { return total() == records; }, stop))
        return 1;
      std::cout << "the view holds " << total() << " clicks; every broker goes down" << std::endl;
      auto* embedded = cluster.embedded();
      if (embedded == nullptr) {
        std::cout << "done (no outage: --brokers names a cluster of its own)" << std::endl;
        return 0;
      }
      for (int b = 1; b <= embedded->brokers(); ++b)
        embedded->broker_down(b);
      bool noticed =
        examples::wait_for([&] { return clicks.state() == view_state::connecting; }, stop);
      for (int b = 1; b <= embedded->brokers(); ++b)
        embedded->broker_up(b);
      // More clicks while the view catches up.
      examples::emit_every({}, records, stop, [&](int64_t i) {
        emit.emit("user-" + std::to_string(i % 10), "click");
      });
      emit.flush();
      bool back = examples::wait_for(
        [&] { return clicks.state() == view_state::running && total() == 2 * records; }, stop);
      std::cout << "done: the view " << (noticed ? "noticed the outage" : "missed the outage")
                << " and holds " << total() << " of " << 2 * records << " clicks" << std::endl;
      return noticed && back ? 0 : 1;
    });
}
