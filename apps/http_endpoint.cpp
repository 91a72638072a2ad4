#include "apps/http_endpoint.hpp"

#include "runtime/kafka_config.hpp"
#include "runtime/logger.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace partita {

namespace {

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

/// Prometheus text format: one metric with its help and type.
void metric(std::string& out, const char* name, const char* type, const char* help,
            uint64_t value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

std::pair<std::string, int> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    auto digits = std::string_view{listen}.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size())
      port = -1;
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535)
    throw config_error("bad HTTP address '" + listen +
                       "': write HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)");
  return {listen.substr(0, colon), port};
}

} // namespace

http_endpoint::http_endpoint(const processor& proc, http_endpoint_config cfg)
  : server_(std::make_unique<httplib::Server>()) {
  auto [host, port] = parse_listen(cfg.listen);
  auto table = cfg.group + "-table";
  auto render = cfg.render_value ? cfg.render_value
                                 : [](std::string_view v) { return nlohmann::json(v); };
  auto& srv = *server_;
  srv.Get("/healthz", [&proc](const httplib::Request&, httplib::Response& res) {
    if (proc.running())
      reply(res, 200, {{"status", "ok"}});
    else
      reply(res, 503, {{"status", "not running"}});
  });
  srv.Get("/readyz", [&proc](const httplib::Request&, httplib::Response& res) {
    auto s = proc.stats();
    std::string reason;
    if (!proc.running())
      reason = "the processor is not running";
    else if (s.partitions == 0)
      reason = "no partitions assigned yet";
    else if (s.failed > 0)
      reason = fmt::format("{} of {} partitions failed", s.failed, s.partitions);
    else if (s.ready < s.partitions)
      reason = fmt::format("{} of {} partitions recovering or restarting",
                           s.partitions - s.ready, s.partitions);
    nlohmann::json body{{"ready", reason.empty()},
                        {"partitions", s.partitions},
                        {"ready_partitions", s.ready},
                        {"failed_partitions", s.failed}};
    if (!reason.empty())
      body["reason"] = reason;
    reply(res, reason.empty() ? 200 : 503, body);
  });
  srv.Get("/metrics", [&proc](const httplib::Request&, httplib::Response& res) {
    auto s = proc.stats();
    std::string out;
    metric(out, "partita_records_fetched_total", "counter",
           "Records fetched and handed to partition actors.", s.fetched);
    metric(out, "partita_records_processed_total", "counter",
           "Records applied by behaviors.", s.records);
    metric(out, "partita_partitions_assigned", "gauge",
           "Partitions assigned to this process.", s.partitions);
    metric(out, "partita_partitions_ready", "gauge",
           "Assigned partitions recovered and processing.", s.ready);
    metric(out, "partita_partitions_failed", "gauge",
           "Assigned partitions that failed too often and stay down.", s.failed);
    res.set_content(out, "text/plain; version=0.0.4");
  });
  srv.Get(R"(/tables/([^/]+)/(.+))",
          [&proc, table, render](const httplib::Request& req, httplib::Response& res) {
            auto name = req.matches[1].str();
            auto key = req.matches[2].str();
            if (name != table)
              return reply(res, 404, {{"error", "no table '" + name + "'; this service has '" +
                                                  table + "'"}});
            auto value = proc.get(key);
            if (!value)
              return reply(res, 404,
                           {{"error", "key '" + key +
                                        "' not found in this process (absent, or its "
                                        "partition is held by another process)"}});
            nlohmann::json rendered;
            try {
              rendered = render(*value);
            } catch (const std::exception& e) {
              return reply(res, 500, {{"error", std::string{"cannot render value: "} + e.what()}});
            }
            reply(res, 200, {{"table", table}, {"key", key}, {"value", rendered}});
          });
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return; // a handler's own error answer
    if (req.method != "GET" && req.method != "HEAD")
      reply(res, 405, {{"error", "only GET is served"}});
    else if (res.status == 404)
      reply(res, 404,
            {{"error", "no such resource: " + req.path +
                         " (try /healthz, /readyz, /metrics, /tables/<table>/<key>)"}});
  });
  port_ = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (port_ < 0)
    throw config_error("cannot listen on " + cfg.listen +
                       ": the address is not local or the port is in use");
  thread_ = std::thread{[this] {
    server_->listen_after_bind();
    listening_done_ = true;
  }};
  logger("http")->info("serving /healthz /readyz /metrics /tables on {}:{}", host, port_);
}

http_endpoint::~http_endpoint() {
  // stop() does nothing until the server runs: a stop that came first would leave listen()
  // waiting forever.
  while (!server_->is_running() && !listening_done_)
    std::this_thread::yield();
  server_->stop();
  if (thread_.joinable())
    thread_.join();
}

} // namespace partita
