// Goka's 8-monitoring: two processors and a view of one program on one monitoring endpoint.
// Group mini-group counts each user's clicks of user-click in its table (JSON {"clicks": n})
// and declares a visitor "reset" (the endpoint's action); group mini-group-stateless reads the
// same clicks without a table; a view follows mini-group-table. The status page shows both
// groups' partitions and records and the view's partitions; /metrics carries each group's
// figures under a `group` label; /readyz is ready once both groups are.
//
//   example-8-monitoring                  # embedded cluster; open http://127.0.0.1:9095/
//   example-8-monitoring --records 300    # emit 300 clicks, print what both saw, go on serving
//   curl -X POST -d '{"clicks": 0}' 127.0.0.1:9095/visits/reset

#include "apps/examples/example.hpp"
#include "apps/examples/user_clicks.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;
using examples::user;
using examples::user_codec;

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-8-monitoring",
    "Goka's monitoring example (two processors and a view on one status page)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{
        settings, {"user-click"}, {"mini-group", "mini-group-stateless"}};

      group_graph<user_codec> counting{"mini-group"};
      counting.input("user-click", string_codec{}, examples::count_click);
      counting.visitor("reset", user_codec{}, [](context<user_codec>& ctx, const user& to) {
        ctx.set_value(to);
      });
      // No table: what it counts is this process's, not the group's (a restart starts at 0).
      std::atomic<int64_t> stateless_seen{0};
      group_graph<> stateless{"mini-group-stateless"};
      stateless.input("user-click", string_codec{}, [&](context<>&, const std::string&) {
        ++stateless_seen;
      });
      processor counter{cluster.processor_settings(), counting};
      processor reader{cluster.processor_settings(), stateless};
      examples::background counting_running{counter, stop};
      examples::background reading_running{reader, stop};
      examples::wait_for([&] { return counter.running() && reader.running(); }, stop);
      view<user_codec> users{cluster.view_settings(), "mini-group-table"};
      examples::background viewing{users, stop};
      auto http = examples::serve({&counter, &reader}, settings, {&users.raw()});

      emitter<string_codec> clicks{cluster.brokers(), "user-click"};
      examples::emit_every(std::chrono::milliseconds{100}, records, stop, [&](int64_t i) {
        clicks.emit("user-" + std::to_string(i % 10), std::to_string(i));
      });
      clicks.flush();
      if (records > 0) {
        bool done = examples::wait_for(
          [&] { return examples::clicks_seen(users) == records && stateless_seen == records; }, stop);
        std::cout << "done: mini-group counted " << examples::clicks_seen(users) << " of " << records
                  << " clicks, mini-group-stateless saw " << stateless_seen << std::endl;
        if (!done)
          return 1;
      }
      examples::until_stopped(stop);
      bool failed = counting_running.failed() || reading_running.failed() || viewing.failed();
      return failed ? 1 : 0;
    });
}
