// Goka's 5-multiple: one processor with two inputs (input-A, keys user-0 ... user-49, and
// input-B, keys user-0 ... user-59) counting each user's clicks of both in one table, a view
// of the table, and the status page, metrics and table queries on one HTTP endpoint.
//
//   example-5-multiple                  # embedded cluster; status page at http://127.0.0.1:9095/
//   example-5-multiple --records 600    # emit 600 to each input, print the total, go on serving

#include "apps/examples/example.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-5-multiple",
    "Goka's example of one processor with two inputs, a view and the status page",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{settings, {"input-A", "input-B"}, {"multiInput"}};

      auto count = [](context<json_codec>& ctx, const std::string&) {
        auto u = ctx.value().value_or(nlohmann::json{{"clicks", 0}});
        u["clicks"] = u["clicks"].get<int64_t>() + 1;
        ctx.set_value(u);
      };
      group_graph<json_codec> graph{"multiInput"};
      graph.input("input-A", string_codec{}, count).input("input-B", string_codec{}, count);
      processor proc{cluster.processor_settings(), graph};
      examples::background processing{proc, stop};
      examples::wait_for([&] { return proc.running(); }, stop);
      view<json_codec> users{cluster.view_settings(), "multiInput-table"};
      examples::background viewing{users, stop};
      auto http = examples::serve({&proc}, settings, {&users.raw()});

      emitter<string_codec> a{cluster.brokers(), "input-A"};
      emitter<string_codec> b{cluster.brokers(), "input-B"};
      examples::emit_every(std::chrono::milliseconds{100}, records, stop, [&](int64_t i) {
        a.emit("user-" + std::to_string(i % 50), std::to_string(i));
        b.emit("user-" + std::to_string(i % 60), std::to_string(i));
      });
      a.flush();
      b.flush();
      auto total = [&] {
        int64_t sum = 0;
        users.for_each([&](std::string_view, const nlohmann::json& u) {
          sum += u["clicks"].get<int64_t>();
          return true;
        });
        return sum;
      };
      if (records > 0) {
        bool done = examples::wait_for([&] { return total() == 2 * records; }, stop);
        std::cout << "done: " << total() << " of " << 2 * records << " clicks counted"
                  << std::endl;
        if (!done)
          return 1;
      }
      examples::until_stopped(stop);
      return processing.failed() || viewing.failed() ? 1 : 0;
    });
}
