// Goka's 9-defer-commit: the processor forwards each message to another topic through an
// emitter of its own (standing in for another system, or another cluster) and defers the
// message's commit until that emitter's delivery report comes (ctx.defer_commit()). A message
// whose forward has not landed is never committed: after a crash it is processed, and
// forwarded, again. The group table counts the messages of each key.
//
//   example-9-defer-commit                  # on the embedded cluster, until Ctrl-C
//   example-9-defer-commit --records 200    # emit 200, print once all are forwarded, exit
//   example-9-defer-commit --brokers host:9092

#include "apps/examples/example.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"

using namespace partita;

namespace {

/// The sum of a metric's samples (every partition's) whose `topic` label, if any, is `topic`.
int64_t total(const processor& proc, const std::string& name, const std::string& topic) {
  double sum = 0;
  for (const auto& s : proc.metrics().samples())
    if (s.name == name &&
        std::none_of(s.tags.begin(), s.tags.end(),
                     [&](const auto& t) { return t.first == "topic" && t.second != topic; }))
      sum += s.value;
  return static_cast<int64_t>(sum);
}

} // namespace

int main(int argc, char** argv) {
  return examples::run_example(
    argc, argv, "example-9-defer-commit",
    "Goka's defer-commit example (a forward to another topic, committed once it landed)",
    [](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      examples::example_cluster cluster{
        settings, {"input-topic", "forward-topic"}, {"defer-commit-group"}};
      std::atomic<int64_t> forwarded{0}; // before the emitter, whose reports count it
      emitter<string_codec> forward{cluster.brokers(), "forward-topic"};

      group_graph<int64_codec> graph{"defer-commit-group"};
      graph.input("input-topic", string_codec{},
                  [&](context<int64_codec>& ctx, const std::string& msg) {
                    ctx.set_value(ctx.value().value_or(0) + 1);
                    auto commit = ctx.defer_commit();
                    forward.emit(ctx.key(), msg, [commit, &forwarded](const delivery& d) {
                      if (!d.ok())
                        return commit.fail("forward-topic: " + d.message());
                      ++forwarded;
                      commit.done();
                    });
                  });
      processor proc{cluster.processor_settings(), graph};
      examples::background running{proc, stop};

      emitter<string_codec> input{cluster.brokers(), "input-topic"};
      examples::emit_every(std::chrono::milliseconds{100}, records, stop, [&](int64_t i) {
        input.emit("key-" + std::to_string(i % 10), "message " + std::to_string(i));
      });
      input.flush();
      if (records == 0) {
        examples::until_stopped(stop);
        return running.failed() ? 1 : 0;
      }
      // Every message forwarded, and its offset committed behind its forward.
      bool done = examples::wait_for(
        [&] { return total(proc, "partita_committed_offset", "input-topic") == records; }, stop);
      std::cout << "done: forwarded " << forwarded << " of " << records << " messages; "
                << total(proc, "partita_committed_offset", "input-topic") << " committed, "
                << total(proc, "partita_deferred_records", "") << " waiting; key-3 counted "
                << proc.get("key-3").value_or("0") << std::endl;
      return done ? 0 : 1;
    });
}
