// Counts words on the embedded cluster and checks the counts: a user's processor, built against
// the installed Partita package (test/out_of_tree/run.sh).

#include "runtime/embedded_cluster.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"

#include <filesystem>
#include <iostream>
#include <thread>

int main(int, char** argv) {
  partita::embedded_cluster cluster{1};
  cluster.create_topic("words", 2, 1);
  {
    partita::emitter<partita::string_codec> words{cluster.bootstrap_servers(), "words"};
    for (int i = 0; i < 30; ++i)
      words.emit(i % 3 == 0 ? "partita" : "kafka", "");
    words.flush();
  }
  partita::group_graph<partita::int64_codec> graph{"wordcount"};
  graph.input("words", partita::string_codec{}, [](auto& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  partita::processor_config cfg;
  cfg.brokers = cluster.bootstrap_servers();
  cfg.state_dir = argv[1];
  cfg.cluster = &cluster;
  partita::processor proc{cfg, graph};
  std::thread runner{[&] { proc.run(); }};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (proc.stats().records < 30 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto partita_count = proc.get("partita").value_or("none");
  auto kafka_count = proc.get("kafka").value_or("none");
  proc.stop();
  runner.join();
  std::cout << "partita=" << partita_count << " kafka=" << kafka_count << std::endl;
  return partita_count == "10" && kafka_count == "20" ? 0 : 1;
}
