// Goka's 2-clicks: an emitter sends a click of user-0 ... user-9 every 100 ms to user-click;
// the processor of group mini-group counts each user's clicks in its table (JSON
// {"clicks": n}); a view of that table answers HTTP queries.
//
//   example-2-clicks                 # embedded cluster; curl 127.0.0.1:9095/tables/mini-group-table/user-3
//   example-2-clicks --records 100   # emit 100 clicks, print what the view holds, go on serving
//   example-2-clicks --http 0.0.0.0:8080 --brokers host:9092

#include "apps/examples/example.hpp"
#include "apps/examples/user_clicks.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;
using examples::user;
using examples::user_codec;

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-2-clicks", "Goka's click counter (a processor, a view, HTTP queries)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{settings, {"user-click"}, {"mini-group"}};

      group_graph<user_codec> graph{"mini-group"};
      graph.input("user-click", string_codec{}, examples::count_click);
      processor proc{cluster.processor_settings(), graph};
      examples::background processing{proc, stop};
      // The view follows the group's table, which the processor creates.
      examples::wait_for([&] { return proc.running(); }, stop);
      view<user_codec> users{cluster.view_settings(), "mini-group-table"};
      examples::background viewing{users, stop};
      auto http = examples::serve({&proc}, settings, {&users.raw()});

      emitter<string_codec> clicks{cluster.brokers(), "user-click"};
      examples::emit_every(std::chrono::milliseconds{100}, records, stop, [&](int64_t i) {
        clicks.emit("user-" + std::to_string(i % 10), std::to_string(i));
      });
      clicks.flush();
      if (records > 0) {
        bool done = examples::wait_for([&] { return examples::clicks_seen(users) == records; }, stop);
        std::cout << "done: the view holds " << examples::clicks_seen(users) << " of " << records
                  << " clicks; user-3 clicked " << users.get("user-3").value_or(user{}).clicks
                  << " times" << std::endl;
        if (!done)
          return 1;
      }
      examples::until_stopped(stop);
      return processing.failed() || viewing.failed() ? 1 : 0;
    });
}
