#pragma once

// The HTTP actions that start visits (graph.visitor) and report their progress, for
// http_endpoint:
//
//   POST /visits/<name>   starts visitor <name> with the request body as its value (the bytes
//                         of the visitor's codec); 202 {"id", "status": "/visits/<id>"}; 404
//                         for an unknown visitor, 400 for a value the codec cannot decode
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
  visit_actions(const processor& proc, httplib::Server& srv);
  visit_actions(const visit_actions&) = delete;
  visit_actions& operator=(const visit_actions&) = delete;
  /// Stops waiting for the visits under way (they go on in the group) and joins their threads.
  ~visit_actions();

private:
  const processor& proc_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_; // guards visits_ and threads_
  std::map<std::string, visit_status> visits_; // by id; a started one under a temporary key
  std::vector<std::thread> threads_;
};

} // namespace partita
