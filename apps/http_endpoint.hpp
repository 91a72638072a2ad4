#pragma once

// The HTTP face of a running processor, for operators: a status page, health, readiness,
// Prometheus metrics, and the group table's values.

#include "apps/status_history.hpp"
#include "runtime/processor.hpp"
#include "runtime/view.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace partita {

class visit_actions;

/// What the endpoint serves.
struct http_endpoint_config {
  /// `host:port`; port 0 picks a free one (see http_endpoint::port()).
  std::string listen = "127.0.0.1:8080";
  /// The group; its table is served as `/tables/<group>-table/<key>`.
  std::string group;
  /// Turns a table value's bytes into JSON (default: the bytes as a string).
  std::function<nlohmann::json(std::string_view)> render_value;
  /// Views served beside the group's table as `/tables/<topic>/<key>` (values rendered the
  /// same way), their figures in /metrics and on the status page. They must outlive the
  /// endpoint.
  std::vector<const raw_view*> views;
};

/// Serves, on a thread of its own:
///   GET /                     the status page (partitions, brokers, records; refreshes itself)
///   GET /status.json          what the status page shows, with the last 10 minutes of its
///                             figures sampled every 2 s ("history", drawn as charts)
///   GET /healthz              200 while the processor runs and its actors answer, else 503
///   GET /readyz               200 when every assigned partition is recovered and running, else
///                             503 with a JSON reason
///   GET /metrics              Prometheus text format
///   GET /tables/<table>/<key> the key's value as JSON, from the group's table or a view; 404
///                             for an unknown table or key, 400 for a request without a key,
///                             414 for a request line longer than the server reads
///   POST /visits/<visitor>    starts a visit (graph.visitor), the body its value; GET
///                             /visits/<id> its progress, GET /visits all (visit_actions.hpp)
/// Anything else is answered 404 (unknown path) or 405 (another method) with a JSON error.
class http_endpoint {
public:
  /// Starts listening; throws config_error for a bad address or a port in use.
  http_endpoint(const processor& proc, http_endpoint_config cfg);
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;
  ~http_endpoint();

  /// The port listened on.
  int port() const { return port_; }

private:
  std::unique_ptr<status_history> history_; // what the status page's charts draw
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<visit_actions> visits_;
  std::thread thread_;
  std::atomic<bool> listening_done_{false};
  int port_ = 0;
};

} // namespace partita
