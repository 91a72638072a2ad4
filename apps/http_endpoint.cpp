#include "apps/http_endpoint.hpp"

#include "apps/status_page.hpp"
#include "apps/visit_actions.hpp"
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

/// The figures of the processor as a whole, next to the engine's own, and the views'.
std::string prometheus(const processor& proc, const std::vector<const raw_view*>& views) {
  auto s = proc.stats();
  metrics whole;
  whole.gauge("partita_up", "1 while the processor runs (between joining the group and leaving "
                            "it).") = proc.running() ? 1 : 0;
  whole.gauge("partita_partitions_assigned", "Partitions assigned to this process.") =
    static_cast<int64_t>(s.partitions);
  whole.gauge("partita_partitions_ready", "Assigned partitions recovered and processing.") =
    static_cast<int64_t>(s.ready);
  whole.gauge("partita_partitions_failed",
              "Assigned partitions that failed too often, or were stopped, and stay down.") =
    static_cast<int64_t>(s.failed);
  auto out = whole.prometheus() + proc.metrics().prometheus();
  for (const auto* v : views)
    out += v->metrics().prometheus();
  return out;
}

std::string label(const metrics::sample& s, const std::string& name) {
  for (const auto& [n, v] : s.tags)
    if (n == name)
      return v;
  return {};
}

/// What the status page shows, from the processor's figures.
nlohmann::json status(const processor& proc, const std::string& group,
                      const std::vector<const raw_view*>& views) {
  auto stats = proc.stats();
  std::map<int, nlohmann::json> partitions;
  std::map<int, nlohmann::json> brokers;
  std::map<std::string, nlohmann::json> topics;
  auto partition = [&](const metrics::sample& s) -> nlohmann::json& {
    auto& p = partitions[std::stoi(label(s, "partition"))];
    if (p.is_null())
      p = {{"partition", std::stoi(label(s, "partition"))}, {"state", "unknown"}, {"lag", 0},
           {"committed", nlohmann::json::object()}, {"deferred", 0}, {"restarts", 0},
           {"backoff_seconds", 0.0}, {"last_restart", 0}, {"recovery", 1.0}, {"store_bytes", 0}};
    return p;
  };
  auto topic = [&](const std::string& name) -> nlohmann::json& {
    auto& t = topics[name];
    if (t.is_null())
      t = {{"topic", name}, {"consumed", 0}, {"processed", 0}, {"produced", 0},
           {"dead_lettered", 0}};
    return t;
  };
  std::vector<metrics::sample> leaders;
  // Followed tables' partitions (joins, lookups, views), by table and partition.
  std::map<std::pair<std::string, int>, nlohmann::json> tables;
  auto table_partition = [&](const metrics::sample& s) -> nlohmann::json& {
    auto& t = tables[{label(s, "table"), std::stoi(label(s, "partition"))}];
    if (t.is_null())
      t = {{"table", label(s, "table")}, {"partition", std::stoi(label(s, "partition"))},
           {"state", "unknown"}, {"position", 0}, {"lag", 0}, {"store_bytes", 0}};
    return t;
  };
  auto samples = proc.metrics().samples();
  for (const auto* v : views) {
    auto more = v->metrics().samples();
    samples.insert(samples.end(), more.begin(), more.end());
  }
  for (const auto& s : samples) {
    const auto& n = s.name;
    auto value = static_cast<int64_t>(s.value);
    if (!label(s, "table").empty() && !label(s, "partition").empty()) {
      if (n == "partita_partition_state" && s.value == 1)
        table_partition(s)["state"] = label(s, "state");
      else if (n == "partita_table_position")
        table_partition(s)["position"] = value;
      else if (n == "partita_table_lag_records")
        table_partition(s)["lag"] = value;
      else if (n == "partita_store_bytes")
        table_partition(s)["store_bytes"] = value;
      continue;
    }
    if (n == "partita_partition_state" && s.value == 1)
      partition(s)["state"] = label(s, "state");
    else if (n == "partita_consumer_lag_records")
      partition(s)["lag"] = partition(s)["lag"].get<int64_t>() + value;
    else if (n == "partita_committed_offset")
      partition(s)["committed"][label(s, "topic")] = value;
    else if (n == "partita_deferred_records")
      partition(s)["deferred"] = value;
    else if (n == "partita_partition_restarts_total")
      partition(s)["restarts"] = value;
    else if (n == "partita_partition_backoff_seconds")
      partition(s)["backoff_seconds"] = s.value;
    else if (n == "partita_partition_last_restart_timestamp_seconds")
      partition(s)["last_restart"] = value;
    else if (n == "partita_recovery_progress_ratio")
      partition(s)["recovery"] = s.value;
    else if (n == "partita_store_bytes")
      partition(s)["store_bytes"] = value;
    else if (n == "partita_broker_up")
      brokers[std::stoi(label(s, "broker"))] = {
        {"broker", std::stoi(label(s, "broker"))}, {"up", value == 1}, {"leads", 0}};
    else if (n == "partita_partition_leader")
      leaders.push_back(s);
    else if (n == "partita_records_consumed_total")
      topic(label(s, "topic"))["consumed"] = value;
    else if (n == "partita_records_processed_total")
      topic(label(s, "topic"))["processed"] = value;
    else if (n == "partita_records_produced_total")
      topic(label(s, "topic"))["produced"] = value;
    else if (n == "partita_records_dead_lettered_total")
      topic(label(s, "topic"))["dead_lettered"] = value;
  }
  for (const auto& s : leaders)
    if (auto b = brokers.find(static_cast<int>(s.value)); b != brokers.end())
      b->second["leads"] = b->second["leads"].get<int>() + 1;
  nlohmann::json out{{"group", group},
                     {"running", proc.running()},
                     {"partitions", stats.partitions},
                     {"ready", stats.ready},
                     {"failed", stats.failed},
                     {"records", stats.records},
                     {"partition_list", nlohmann::json::array()},
                     {"brokers", nlohmann::json::array()},
                     {"topics", nlohmann::json::array()},
                     {"tables", nlohmann::json::array()}};
  for (auto& [_, p] : partitions)
    if (p["state"] != "unknown") // only the partitions this process holds
      out["partition_list"].push_back(std::move(p));
  for (auto& [_, b] : brokers)
    out["brokers"].push_back(std::move(b));
  for (auto& [_, t] : topics)
    out["topics"].push_back(std::move(t));
  for (auto& [_, t] : tables)
    out["tables"].push_back(std::move(t));
  return out;
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

/// /tables/<windowed table>/<key>: the key's windows, oldest first; a value that reads as a
/// JSON number is rendered as one.
void reply_windows(httplib::Response& res, const processor& proc, const std::string& name,
                   const std::string& key) {
  std::vector<window_entry> windows;
  try {
    windows = proc.windows(key);
  } catch (const std::exception& e) {
    return reply(res, 500, {{"error", std::string{"cannot read the windows: "} + e.what()}});
  }
  if (windows.empty())
    return reply(res, 404, {{"error", "key '" + key.substr(0, 200) + "' has no window in this "
                                      "process (none kept, or its partition is held by "
                                      "another process)"}});
  auto list = nlohmann::json::array();
  for (const auto& w : windows) {
    auto value = nlohmann::json::parse(w.value, nullptr, false);
    if (!value.is_number())
      value = w.value;
    list.push_back({{"start", w.bounds.start}, {"end", w.bounds.end}, {"closed", w.closed},
                    {"value", value}});
  }
  reply(res, 200, {{"table", name}, {"key", key}, {"windows", list}});
}

} // namespace

http_endpoint::http_endpoint(const processor& proc, http_endpoint_config cfg)
  : history_(std::make_unique<status_history>(
      [&proc, group = cfg.group, views = cfg.views] { return status(proc, group, views); },
      std::chrono::seconds{2}, 300)),
    server_(std::make_unique<httplib::Server>()) {
  auto [host, port] = parse_listen(cfg.listen);
  auto table = cfg.group + "-table";
  auto render = cfg.render_value ? cfg.render_value
                                 : [](std::string_view v) { return nlohmann::json(v); };
  auto& srv = *server_;
  srv.Get("/healthz", [&proc](const httplib::Request&, httplib::Response& res) {
    if (!proc.running())
      reply(res, 503, {{"status", "not running"}});
    else if (!proc.responsive())
      reply(res, 503, {{"status", "actors not answering within 1 s"}});
    else
      reply(res, 200, {{"status", "ok"}});
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
  srv.Get("/metrics", [&proc, views = cfg.views](const httplib::Request&,
                                                  httplib::Response& res) {
    res.set_content(prometheus(proc, views), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/status.json", [this, &proc, group = cfg.group, views = cfg.views](
                            const httplib::Request&, httplib::Response& res) {
    auto body = status(proc, group, views);
    body["history"] = history_->json();
    reply(res, 200, body);
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_page_html, "text/html; charset=utf-8");
  });
  srv.Get(R"(/tables/([^/]+)/(.+))",
          [&proc, table, render, views = cfg.views](const httplib::Request& req,
                                                    httplib::Response& res) {
            auto name = req.matches[1].str();
            auto key = req.matches[2].str();
            const raw_view* view = nullptr;
            std::string names = "'" + table + "'";
            for (const auto* v : views) {
              names += ", '" + v->topic() + "'";
              if (v->topic() == name)
                view = v;
            }
            const auto* windowed = proc.windowed_table();
            if (windowed != nullptr) {
              names += ", '" + *windowed + "' (windowed)";
              if (name == *windowed)
                return reply_windows(res, proc, name, key);
            }
            if (name != table && view == nullptr)
              return reply(res, 404, {{"error", "no table '" + name + "'; this service has " +
                                                  names}});
            std::optional<std::string> value;
            try {
              value = view ? view->get(key) : proc.get(key);
            } catch (const std::exception& e) {
              return reply(res, 500, {{"error", std::string{"cannot read the table: "} +
                                                  e.what()}});
            }
            if (!value)
              return reply(res, 404,
                           {{"error", "key '" + key.substr(0, 200) +
                                        (view ? "' not found in the view"
                                              : "' not found in this process (absent, or its "
                                                "partition is held by another process)")}});
            nlohmann::json rendered;
            try {
              rendered = render(*value);
            } catch (const std::exception& e) {
              return reply(res, 500, {{"error", std::string{"cannot render value: "} + e.what()}});
            }
            reply(res, 200, {{"table", table}, {"key", key}, {"value", rendered}});
          });
  srv.Get(R"(/tables(/[^/]*)?/?)", [table](const httplib::Request& req, httplib::Response& res) {
    reply(res, 400, {{"error", "bad table request " + req.path + ": write /tables/" + table +
                                 "/<key>"}});
  });
  visits_ = std::make_unique<visit_actions>(proc, srv);
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return; // a handler's own error answer
    if (req.method.empty()) // the request line was not read: too long, or not HTTP
      reply(res, 414,
            {{"error", "the request line could not be read: it is longer than the server "
                       "reads (8 KB), or not HTTP; keys longer than a few kilobytes cannot be "
                       "queried here"}});
    else if (req.method != "GET" && req.method != "HEAD")
      reply(res, 405, {{"error", "only GET is served (and POST /visits/<visitor>)"}});
    else if (res.status == 404)
      reply(res, 404,
            {{"error", "no such resource: " + req.path +
                         " (try /, /status.json, /healthz, /readyz, /metrics, /tables/<table>/<key>, "
                         "/visits)"}});
  });
  port_ = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (port_ < 0)
    throw config_error("cannot listen on " + cfg.listen +
                       ": the address is not local or the port is in use");
  thread_ = std::thread{[this] {
    server_->listen_after_bind();
    listening_done_ = true;
  }};
  logger("http")->info("serving the status page, /healthz, /readyz, /metrics and /tables on "
                       "http://{}:{}/",
                       host, port_);
}

http_endpoint::~http_endpoint() {
  // stop() does nothing until the server runs: a stop that came first would leave listen()
  // waiting forever.
  while (!server_->is_running() && !listening_done_)
    std::this_thread::yield();
  server_->stop();
  if (thread_.joinable())
    thread_.join();
  visits_.reset(); // after the server: no request starts a visit meanwhile
}

} // namespace partita
