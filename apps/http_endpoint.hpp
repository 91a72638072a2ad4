#pragma once

// The HTTP face of a running program's processors and views, for operators: a status page,
// health, readiness, Prometheus metrics, the tables' values and visits.

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

/// A processor an endpoint serves besides the one it is made with.
struct served_processor {
  const processor* proc = nullptr;
  /// Turns its table values' bytes into JSON (default: the endpoint's render_value).
  std::function<nlohmann::json(std::string_view)> render_value = {};
};

/// What the endpoint serves.
struct http_endpoint_config {
  /// `host:port`; port 0 picks a free one (see http_endpoint::port()).
  std::string listen = "127.0.0.1:8080";
  /// Turns a table value's bytes into JSON (default: the bytes as a string).
  std::function<nlohmann::json(std::string_view)> render_value;
  /// Views served beside the groups' tables as `/tables/<topic>/<key>` (values rendered the
  /// same way), their figures in /metrics and on the status page. They must outlive the
  /// endpoint.
  std::vector<const raw_view*> views;
  /// Further processors of the program served on the same endpoint (Goka's monitor with
  /// several processors attached), each of another group: every group's table (if it has
  /// one) at `/tables/<group>-table/<key>`, its partitions and records on the status page, health and
  /// readiness over all of them, its visitors at /visits, its figures in /metrics with a
  /// `group` label. They must outlive the endpoint.
  std::vector<served_processor> processors;
};

/// Serves, on a thread of its own:
///   GET /                     the status page (partitions, brokers, records; refreshes itself)
///   GET /status.json          what the status page shows, with the last 10 minutes of its
///                             figures sampled every 2 s ("history", drawn as charts)
///   GET /healthz              200 while every processor runs and its actors answer, else 503
///   GET /readyz               200 when every assigned partition of every processor is
///                             recovered and running, else 503 with a JSON reason (and the
///                             figures of each processor under "processors")
///   GET /metrics              Prometheus text format
///   GET /tables/<table>/<key> the key's value as JSON, from a view or a group's table; 404
///                             for an unknown table or key, 400 for a request without a key,
///                             414 for a request line longer than the server reads
///   POST /visits/<visitor>    starts a visit (graph.visitor), the body its value; GET
///                             /visits/<id> its progress, GET /visits all (visit_actions.hpp)
/// Anything else is answered 404 (unknown path) or 405 (another method) with a JSON error.
class http_endpoint {
public:
  /// Serves `proc` and cfg.processors. Starts listening; throws config_error for a bad
  /// address, a port in use, or a group served twice.
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
