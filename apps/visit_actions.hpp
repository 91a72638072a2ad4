#pragma once

// The HTTP actions that start visits (graph.visitor) and report their progress, for
// http_endpoint:
//
//   POST /visits/<name>   starts visitor <name> with the request body as its value (the bytes
//                         of the visitor's codec); 202 {"id", "status": "/visits/<id>"}; 404
//                         for an unknown visitor, 400 for a value the codec cannot decode.
//                         When the endpoint serves several processors declaring <name>,
//                         `?group=<group>` says whose (without it: 400 naming them)
//   GET  /visits/<id>     the visit: partitions done of all, keys visited, state (running,
//                         done, failed) and error
//   GET  /visits          every visit started here

#include "runtime/processor.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace partita {

class visit_actions {
public:
  /// The visitors of `procs` (they must outlive this).
  visit_actions(std::vector<const processor*> procs, httplib::Server& srv);
  visit_actions(const visit_actions&) = delete;
  visit_actions& operator=(const visit_actions&) = delete;
  /// Stops waiting for the visits under way (they go on in the group) and joins their threads.
  ~visit_actions();

private:
  /// The processor of the request's visitor; throws graph_error (404) or config_error (400).
  const processor& owner(const std::string& name, const std::string& group) const;

  std::vector<const processor*> procs_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_; // guards visits_ and threads_
  struct visit {
    std::string group;
    visit_status status;
  };
  std::map<std::string, visit> visits_; // by id
  std::vector<std::thread> threads_;
};

} // namespace partita
