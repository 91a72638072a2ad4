#include "apps/http_endpoint.hpp"

#include "apps/status_page.hpp"
#include "apps/status_report.hpp"
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

/// /healthz: 200 while every processor runs and its actors answer.
void reply_health(httplib::Response& res, const std::vector<const processor*>& procs) {
  auto named = [&](const processor& p, const std::string& what) {
    return procs.size() > 1 ? "group " + p.group() + ": " + what : what;
  };
  for (const auto* p : procs)
    if (!p->running())
      return reply(res, 503, {{"status", named(*p, "not running")}});
  for (const auto* p : procs)
    if (!p->responsive())
      return reply(res, 503, {{"status", named(*p, "actors not answering within 1 s")}});
  reply(res, 200, {{"status", "ok"}});
}

/// Why processor `p` is not ready, or nothing.
std::string not_ready(const processor& p, const processor_stats& s) {
  if (!p.running())
    return "the processor is not running";
  if (s.partitions == 0)
    return "no partitions assigned yet";
  if (s.failed > 0)
    return fmt::format("{} of {} partitions failed", s.failed, s.partitions);
  if (s.ready < s.partitions)
    return fmt::format("{} of {} partitions recovering or restarting", s.partitions - s.ready,
                       s.partitions);
  return {};
}

/// /readyz: 200 when every assigned partition of every processor is recovered and running.
void reply_readiness(httplib::Response& res, const std::vector<const processor*>& procs) {
  std::string reason;
  processor_stats all;
  auto each = nlohmann::json::array();
  for (const auto* p : procs) {
    auto s = p->stats();
    auto why = not_ready(*p, s);
    all.partitions += s.partitions;
    all.ready += s.ready;
    all.failed += s.failed;
    each.push_back({{"group", p->group()}, {"ready", why.empty()}, {"partitions", s.partitions},
                    {"ready_partitions", s.ready}, {"failed_partitions", s.failed}});
    if (!why.empty()) {
      each.back()["reason"] = why;
      reason += (reason.empty() ? "" : "; ") + (procs.size() > 1 ? "group " + p->group() + ": "
                                                                 : std::string{}) + why;
    }
  }
  nlohmann::json body{{"ready", reason.empty()},
                      {"partitions", all.partitions},
                      {"ready_partitions", all.ready},
                      {"failed_partitions", all.failed},
                      {"processors", each}};
  if (!reason.empty())
    body["reason"] = reason;
  reply(res, reason.empty() ? 200 : 503, body);
}

} // namespace

http_endpoint::http_endpoint(const processor& proc, http_endpoint_config cfg)
  : server_(std::make_unique<httplib::Server>()) {
  auto [host, port] = parse_listen(cfg.listen);
  auto render = cfg.render_value ? cfg.render_value
                                 : [](std::string_view v) { return nlohmann::json(v); };
  cfg.processors.insert(cfg.processors.begin(), served_processor{&proc, cfg.render_value});
  std::vector<const processor*> procs;
  for (auto& served : cfg.processors) {
    if (served.proc == nullptr)
      throw config_error("http_endpoint_config::processors holds a null processor");
    for (const auto* p : procs)
      if (p->group() == served.proc->group())
        throw config_error("the HTTP endpoint serves group '" + p->group() +
                           "' twice: serve each processor once");
    procs.push_back(served.proc);
    if (!served.render_value)
      served.render_value = render;
  }
  history_ = std::make_unique<status_history>(
    [procs, views = cfg.views] { return status_report(procs, views); }, std::chrono::seconds{2},
    300);
  auto& srv = *server_;
  srv.Get("/healthz", [procs](const httplib::Request&, httplib::Response& res) {
    reply_health(res, procs);
  });
  srv.Get("/readyz", [procs](const httplib::Request&, httplib::Response& res) {
    reply_readiness(res, procs);
  });
  srv.Get("/metrics", [procs, views = cfg.views](const httplib::Request&,
                                                  httplib::Response& res) {
    res.set_content(metrics_report(procs, views), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/status.json", [this, procs, views = cfg.views](const httplib::Request&,
                                                            httplib::Response& res) {
    auto body = status_report(procs, views);
    body["history"] = history_->json();
    reply(res, 200, body);
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_page_html, "text/html; charset=utf-8");
  });
  std::string names; // the tables served, for errors
  std::string first; // the first table, for the example in an error
  auto add = [&](const std::string& name, const char* how) {
    names += (names.empty() ? "'" : ", '") + name + "'" + how;
    if (first.empty())
      first = name;
  };
  for (const auto& served : cfg.processors) {
    if (served.proc->has_table())
      add(served.proc->group() + "-table", "");
    if (const auto* windowed = served.proc->windowed_table())
      add(*windowed, " (windowed)");
  }
  for (const auto* v : cfg.views)
    add(v->topic(), "");
  if (names.empty())
    names = "none";
  srv.Get(R"(/tables/([^/]+)/(.+))", [served = cfg.processors, render, names,
                                      views = cfg.views](const httplib::Request& req,
                                                         httplib::Response& res) {
    auto name = req.matches[1].str();
    auto key = req.matches[2].str();
    const served_processor* owner = nullptr;
    for (const auto& s : served) {
      const auto* windowed = s.proc->windowed_table();
      if (windowed != nullptr && name == *windowed)
        return reply_windows(res, *s.proc, name, key);
      if (s.proc->has_table() && name == s.proc->group() + "-table")
        owner = &s;
    }
    const raw_view* view = nullptr; // a view holds every partition: it answers first
    for (const auto* v : views)
      if (v->topic() == name)
        view = v;
    if (owner == nullptr && view == nullptr)
      return reply(res, 404, {{"error", "no table '" + name + "'; this service has " + names}});
    std::optional<std::string> value;
    try {
      value = view ? view->get(key) : owner->proc->get(key);
    } catch (const std::exception& e) {
      return reply(res, 500, {{"error", std::string{"cannot read the table: "} + e.what()}});
    }
    if (!value)
      return reply(res, 404,
                   {{"error", "key '" + key.substr(0, 200) +
                                (view ? "' not found in the view"
                                      : "' not found in this process (absent, or its "
                                        "partition is held by another process)")}});
    nlohmann::json rendered;
    try {
      rendered = view ? render(*value) : owner->render_value(*value);
    } catch (const std::exception& e) {
      return reply(res, 500, {{"error", std::string{"cannot render value: "} + e.what()}});
    }
    reply(res, 200, {{"table", name}, {"key", key}, {"value", rendered}});
  });
  srv.Get(R"(/tables(/[^/]*)?/?)", [names, first = first.empty() ? "<table>" : first](
                                     const httplib::Request& req, httplib::Response& res) {
    reply(res, 400, {{"error", "bad table request " + req.path + ": write /tables/" + first +
                                 "/<key> (the tables here: " + names + ")"}});
  });
  visits_ = std::make_unique<visit_actions>(procs, srv);
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
