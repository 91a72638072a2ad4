// Counts words on the embedded cluster and checks the counts, through the processor, a view and
// a join: a user's program, built against the installed Partita package
// (test/out_of_tree/run.sh).

#include "wordcount_graphs.hpp"

#include "runtime/embedded_cluster.hpp"
#include "runtime/emitter.hpp"
#include "runtime/group_graph.hpp"
#include "runtime/processor.hpp"
#include "runtime/view.hpp"

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
  auto graph = wordcount_graph();
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

  // A view of the counts, and a group joining them: "mentions" takes each word's count.
  partita::view_config vc;
  vc.brokers = cluster.bootstrap_servers();
  vc.state_dir = std::filesystem::path{argv[1]} / "views";
  partita::view<partita::int64_codec> counts{vc, "wordcount-table"};
  std::thread follower{[&] { counts.run(); }};
  bool recovered = counts.wait_recovered(std::chrono::seconds{60});
  // The counts' changelog may still be on its way: the view follows it.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (counts.get("partita").value_or(-1) != 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto viewed = counts.get("partita").value_or(-1);
  cluster.create_topic("mentions", 2, 1);
  {
    partita::emitter<partita::string_codec> mentions{cluster.bootstrap_servers(), "mentions"};
    mentions.emit("partita", "");
    mentions.flush();
  }
  auto joined = mentions_graph();
  auto jcfg = cfg;
  jcfg.state_dir = std::filesystem::path{argv[1]} / "mentions";
  partita::processor mentions{jcfg, joined};
  std::thread joiner{[&] { mentions.run(); }};
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (mentions.stats().records < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto mentioned = mentions.get("partita").value_or("none");
  mentions.stop();
  joiner.join();
  counts.stop();
  follower.join();
  proc.stop();
  runner.join();
  std::cout << "partita=" << partita_count << " kafka=" << kafka_count << " viewed=" << viewed
            << " recovered=" << recovered << " joined=" << mentioned << std::endl;
  return partita_count == "10" && kafka_count == "20" && viewed == 10 && mentioned == "10" ? 0
                                                                                            : 1;
}
