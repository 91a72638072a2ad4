// Goka's 10-visit: a processor counts each user's clicks in its table, and a visitor "reset"
// sets every user's count to the value it is given, in every partition, while clicks go on.
// processor::visit_all runs it and returns the keys visited; the HTTP endpoint starts one too.
//
//   example-10-visit                  # embedded cluster; then
//                                     # curl -X POST -d 0 127.0.0.1:9095/visits/reset
//   example-10-visit --records 50     # emit 50 clicks, reset every count, print, go on serving
//   example-10-visit --brokers host:9092

#include "apps/examples/example.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;

namespace {

constexpr int users = 10;

/// The clicks counted over every user.
int64_t counted(const processor& proc) {
  int64_t total = 0;
  for (int u = 0; u < users; ++u)
    total += std::stoll(proc.get("user-" + std::to_string(u)).value_or("0"));
  return total;
}

} // namespace

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-10-visit", "Goka's visitor example (every key of a table visited)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{settings, {"example-visit-clicks"}, {"example-visit"}};

      group_graph<int64_codec> graph{"example-visit"};
      graph.input("example-visit-clicks", string_codec{},
                  [](context<int64_codec>& ctx, const std::string&) {
                    ctx.set_value(ctx.value().value_or(0) + 1);
                  });
      graph.visitor("reset", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& to) {
        ctx.set_value(to);
      });
      processor proc{cluster.processor_settings(), graph};
      examples::background processing{proc, stop};
      examples::wait_for([&] { return proc.running(); }, stop);
      auto http = examples::serve({&proc}, settings, {});
      std::cout << "Reset every count: curl -X POST -d 0 http://"
                << (settings.http.empty() ? "127.0.0.1:9095" : settings.http) << "/visits/reset"
                << std::endl;

      emitter<string_codec> clicks{cluster.brokers(), "example-visit-clicks"};
      examples::emit_every(std::chrono::milliseconds{100}, records, stop, [&](int64_t i) {
        clicks.emit("user-" + std::to_string(i % users), "click");
      });
      clicks.flush();
      if (records > 0) {
        if (!examples::wait_for([&] { return counted(proc) == records; }, stop)) {
          std::cout << "counted " << counted(proc) << " of " << records << " clicks" << std::endl;
          return 1;
        }
        std::cout << "counted " << records << " clicks; user-3 clicked "
                  << proc.get("user-3").value_or("0") << " times" << std::endl;
        auto visit = proc.visit_all<int64_t>("reset", 0);
        std::cout << "done: the visit reset " << visit.visited << " keys in " << visit.partitions
                  << " partitions; the counts now add up to " << counted(proc) << std::endl;
      }
      examples::until_stopped(stop);
      return processing.failed() ? 1 : 0;
    });
}
