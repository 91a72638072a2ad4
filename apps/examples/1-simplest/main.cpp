// Goka's 1-simplest: an emitter writes "some-message" under the key "some-key" to
// example-stream once a second, and the processor of group example-group counts the messages
// of each key in its table, printing each count.
//
//   example-1-simplest                  # on the embedded cluster, until Ctrl-C
//   example-1-simplest --records 10     # emit 10, print the last count, exit
//   example-1-simplest --brokers host:9092

#include "apps/examples/example.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-1-simplest", "Goka's simplest example (an emitter and a counter)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{settings, {"example-stream"}, {"example-group"}};

      group_graph<int64_codec> graph{"example-group"};
      graph.input("example-stream", string_codec{},
                  [](context<int64_codec>& ctx, const std::string& msg) {
                    auto counter = ctx.value().value_or(0) + 1;
                    ctx.set_value(counter);
                    std::cout << "key = " << ctx.key() << ", counter = " << counter
                              << ", msg = " << msg << std::endl;
                  });
      processor proc{cluster.processor_settings(), graph};
      examples::background running{proc, stop};

      emitter<string_codec> stream{cluster.brokers(), "example-stream"};
      examples::emit_every(std::chrono::seconds{1}, records, stop,
                           [&](int64_t) { stream.emit("some-key", "some-message"); });
      stream.flush();
      if (records == 0) {
        examples::until_stopped(stop);
        return running.failed() ? 1 : 0;
      }
      bool done = examples::wait_for(
        [&] { return proc.get("some-key").value_or("0") == std::to_string(records); }, stop);
      std::cout << "done: some-key counted " << proc.get("some-key").value_or("0") << " of "
                << records << " messages" << std::endl;
      return done ? 0 : 1;
    });
}
