// Goka's 3-messaging: a messaging service of five processors (messaging.hpp) and an HTTP
// service that sends messages and shows each user's feed from a view of the collector's table.
//
//   example-3-messaging                       # embedded cluster, every processor, the service
//   curl -X POST -d '{"to": "Alice", "content": "Hey, how are you doing?"}' 127.0.0.1:8080/Bob/send
//   curl 127.0.0.1:8080/Alice/feed
//   curl -X POST -d '' 127.0.0.1:8080/Bob/block   # Goka's cmd/block-user (and /unblock)
//   curl -X POST -d 't°9e+her' 127.0.0.1:8080/translate/together   # Goka's cmd/translate-word
//   example-3-messaging --loadgen             # Goka's cmd/loadgen: Bob spams, the detector blocks him
//   example-3-messaging --processors collector,filter --brokers host:9092

#include "apps/examples/3-messaging/messaging.hpp"
#include "apps/examples/example.hpp"
#include "runtime/emitter.hpp"

#include <httplib.h>

#include <cstdio>
#include <list>
#include <set>

using namespace partita;
using namespace messaging;

namespace {

/// The service's endpoints: send, feed, and the stand-ins for Goka's block-user and
/// translate-word tools.
void routes(httplib::Server& api, emitter<message_codec>& sent, emitter<bytes_codec>& blocks,
            emitter<string_codec>& translations, const view<message_list_codec>& feed) {
  api.Post(R"(/([^/]+)/send)", [&](const httplib::Request& req, httplib::Response& res) {
    message m;
    try {
      m = message_codec{}.decode(req.body);
    } catch (const decode_error& e) {
      res.status = 400;
      res.set_content(std::string{"the body is not a message {\"to\": ..., \"content\": ...}: "} +
                        e.what() + "\n",
                      "text/plain");
      return;
    }
    if (m.to.empty()) {
      res.status = 400;
      res.set_content("the message names no recipient (\"to\")\n", "text/plain");
      return;
    }
    m.from = req.matches[1];
    sent.emit(m.from, m);
    res.set_content("sent\n", "text/plain");
  });
  api.Get(R"(/([^/]+)/feed)", [&](const httplib::Request& req, httplib::Response& res) {
    std::string user = req.matches[1];
    auto messages = feed.get(user);
    if (!messages) {
      res.status = 404;
      res.set_content(user + " not found!\n", "text/plain");
      return;
    }
    std::string out = "Latest messages for " + user + "\n";
    for (std::size_t i = 0; i < messages->size(); ++i) {
      char line[64];
      std::snprintf(line, sizeof line, "%zu %10s: ", i, (*messages)[i].from.c_str());
      out += line + (*messages)[i].content + "\n";
    }
    res.set_content(out, "text/plain");
  });
  api.Post(R"(/([^/]+)/(block|unblock))", [&](const httplib::Request& req, httplib::Response& res) {
    blocks.emit(std::string{req.matches[1]},
                json_codec_of<block_event>{}.encode(block_event{req.matches[2] == "unblock"}));
    res.set_content(std::string{req.matches[2]} + "ed " + std::string{req.matches[1]} + "\n",
                    "text/plain");
  });
  api.Post(R"(/translate/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    translations.emit(std::string{req.matches[1]}, req.body);
    res.set_content("translating " + std::string{req.matches[1]} + "\n", "text/plain");
  });
}

/// Goka's load generator: message i goes from one of five users to another; every third is
/// Bob's, so that the detector finds him a spammer.
message generated(int64_t i) {
  static const char* users[] = {"Alice", "Bob", "Charlie", "Dave", "Eve"};
  std::string from = i % 3 == 0 ? "Bob" : users[i % 5];
  std::string to = users[(i * 7 + 1) % 5];
  if (to == from)
    to = users[(i * 7 + 2) % 5];
  return message{from, to, "Hello together, lunch at " + std::to_string(12 + i % 3)};
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> chosen{"blocker", "translator", "collector", "detector", "filter"};
  std::string api_listen = "127.0.0.1:8080";
  bool loadgen = false;
  auto own_options = [&](CLI::App& app) {
    app.add_option("--processors", chosen, "the processors to run here")
      ->delimiter(',')
      ->check(CLI::IsMember({"blocker", "translator", "collector", "detector", "filter"}))
      ->capture_default_str();
    app.add_option("--api", api_listen, "host:port of the messaging service (send, feed)")
      ->check([](const std::string& v) {
        auto colon = v.rfind(':');
        bool ok = colon != std::string::npos && colon > 0 && colon + 1 < v.size() &&
                  v.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                  v.size() - colon <= 6;
        return ok ? std::string{} : "write HOST:PORT, e.g. 127.0.0.1:8080";
      })
      ->capture_default_str();
    app.add_flag("--loadgen", loadgen, "send generated messages every 100 ms until stopped");
  };
  return examples::run_example(
    argc, argv, "example-3-messaging", "Goka's messaging service (five processors and a service)",
    [&](const service_settings& settings, int64_t records, std::atomic<bool>& stop) {
      std::set<std::string> run{chosen.begin(), chosen.end()};
      examples::example_cluster cluster{
        settings, {sent_stream, received_stream, block_stream, translate_stream},
        {"blocker", "translator", "collector", "detector", "filter"}};
      std::list<processor> processors;
      std::list<examples::background<processor>> running;
      for (const auto& [name, graph] : std::vector<std::pair<std::string, graph_definition>>{
             {"blocker", blocker().definition()},
             {"translator", translator().definition()},
             {"collector", collector().definition()},
             {"detector", detector().definition()},
             {"filter", filter().definition()}}) {
        if (!run.contains(name))
          continue;
        // The filter reads the blocker's and the translator's tables: they exist once those
        // processors run.
        if (name == "filter")
          for (auto& p : processors)
            examples::wait_for([&] { return p.running(); }, stop);
        processors.emplace_back(cluster.processor_settings(), graph);
        running.emplace_back(processors.back(), stop);
      }
      for (auto& p : processors)
        examples::wait_for([&] { return p.running(); }, stop);

      // The service: an emitter into message_sent and a view of the collector's table.
      view<message_list_codec> feed{cluster.view_settings(), "collector-table"};
      examples::background viewing{feed, stop};
      emitter<message_codec> sent{cluster.brokers(), sent_stream};
      emitter<bytes_codec> blocks{cluster.brokers(), block_stream};
      emitter<string_codec> translations{cluster.brokers(), translate_stream};
      httplib::Server api;
      routes(api, sent, blocks, translations, feed);
      // --http: the status page of the processors run here, with the feed's view.
      std::unique_ptr<http_endpoint> status;
      std::vector<const processor*> shown;
      for (const auto& p : processors)
        shown.push_back(&p);
      if (!settings.http.empty() && !shown.empty())
        status = examples::serve(shown, settings, {&feed.raw()});
      auto colon = api_listen.rfind(':');
      if (!api.bind_to_port(api_listen.substr(0, colon).c_str(),
                            std::stoi(api_listen.substr(colon + 1))))
        throw config_error("--api " + api_listen + ": cannot listen there (a local address, a "
                           "free port)");
      std::atomic<bool> served{false};
      std::thread serving{[&] {
        api.listen_after_bind();
        served = true;
      }};
      std::cout << "Messaging service at http://" << api_listen << "/<user>/send and /<user>/feed"
                << std::endl;

      if (loadgen || records > 0) {
        examples::emit_every(std::chrono::milliseconds{100}, loadgen ? 0 : records, stop,
                             [&](int64_t i) {
                               auto m = generated(i);
                               sent.emit(m.from, m);
                             });
        sent.flush();
        std::cout << "done: sent the generated messages" << std::endl;
      }
      examples::until_stopped(stop);
      // httplib's stop() does nothing before the server runs: a stop that came first would
      // leave it listening for ever.
      while (!api.is_running() && !served)
        std::this_thread::yield();
      api.stop();
      serving.join();
      bool failed = viewing.failed();
      for (const auto& r : running)
        failed = failed || r.failed();
      return failed ? 1 : 0;
    },
    own_options);
}
