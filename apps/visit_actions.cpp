#include "apps/visit_actions.hpp"

#include "runtime/codec.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <future>

namespace partita {

namespace {

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

nlohmann::json to_json(const std::string& group, const visit_status& s) {
  return {{"id", s.id},
          {"group", group},
          {"visitor", s.name},
          {"partitions", s.partitions},
          {"partitions_done", s.done},
          {"visited", s.visited},
          {"state", !s.error.empty() ? "failed" : s.finished ? "done" : "running"},
          {"error", s.error}};
}

/// `?group=` of the request's URL (not of a form body: the body is the visit's value).
std::string group_asked(const httplib::Request& req) {
  auto q = req.target.find('?');
  if (q == std::string::npos)
    return {};
  httplib::Params params;
  httplib::detail::parse_query_text(req.target.substr(q + 1), params);
  auto i = params.find("group");
  return i == params.end() ? std::string{} : i->second;
}

} // namespace

const processor& visit_actions::owner(const std::string& name, const std::string& group) const {
  std::vector<const processor*> declaring;
  std::string unknown; // why each processor has no such visitor
  for (const auto* p : procs_) {
    if (!group.empty() && p->group() != group)
      continue;
    try {
      p->visitor_codec(name);
      declaring.push_back(p);
    } catch (const graph_error& e) {
      unknown += (unknown.empty() ? "" : "; ") + std::string{e.what()};
    }
  }
  if (declaring.size() == 1)
    return *declaring.front();
  if (declaring.empty() && unknown.empty())
    throw graph_error("no group '" + group.substr(0, 200) + "' is served here");
  if (declaring.empty())
    throw graph_error(unknown);
  std::string groups;
  for (const auto* p : declaring)
    groups += (groups.empty() ? "" : ", ") + p->group();
  throw config_error("visitor '" + name.substr(0, 200) + "' is declared by groups " + groups +
                     ": say whose with ?group=<group>");
}

visit_actions::visit_actions(std::vector<const processor*> procs, httplib::Server& srv)
  : procs_(std::move(procs)) {
  srv.Post(R"(/visits/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto name = req.matches[1].str();
    const processor* proc = nullptr;
    try {
      proc = &owner(name, group_asked(req));
      proc->visitor_codec(name).check(req.body);
    } catch (const graph_error& e) {
      return reply(res, 404, {{"error", e.what()}});
    } catch (const config_error& e) {
      return reply(res, 400, {{"error", e.what()}});
    } catch (const std::exception& e) {
      return reply(res, 400, {{"error", "the body is not a value of visitor '" + name +
                                          "': " + e.what()}});
    }
    // The visit's id is known once it starts: its thread hands it over.
    auto started = std::make_shared<std::promise<std::string>>();
    auto id = started->get_future();
    {
      std::lock_guard guard{mtx_};
      threads_.emplace_back([this, proc, name, value = req.body, started] {
        std::string mine;
        auto report = [&](const visit_status& s) {
          {
            std::lock_guard g{mtx_};
            visits_[s.id] = {proc->group(), s};
          }
          if (mine.empty()) {
            mine = s.id;
            started->set_value(s.id);
          }
        };
        try {
          proc->visit_all_encoded(name, value, std::chrono::hours{24}, report, &stop_);
        } catch (const std::exception& e) {
          if (mine.empty())
            return started->set_exception(std::current_exception());
          std::lock_guard g{mtx_};
          if (auto& s = visits_[mine].status; s.error.empty())
            s.error = e.what();
        }
      });
    }
    try {
      auto visit = id.get();
      reply(res, 202, {{"id", visit}, {"status", "/visits/" + visit}});
    } catch (const std::exception& e) {
      reply(res, 503, {{"error", std::string{"the visit could not start: "} + e.what()}});
    }
  });
  srv.Get(R"(/visits/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard guard{mtx_};
    auto i = visits_.find(req.matches[1].str());
    if (i == visits_.end())
      return reply(res, 404, {{"error", "no visit '" + req.matches[1].str().substr(0, 200) +
                                          "' was started here (POST /visits/<visitor>)"}});
    reply(res, 200, to_json(i->second.group, i->second.status));
  });
  srv.Get("/visits", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard guard{mtx_};
    auto list = nlohmann::json::array();
    for (const auto& [id, v] : visits_)
      list.push_back(to_json(v.group, v.status));
    reply(res, 200, {{"visits", list}});
  });
}

visit_actions::~visit_actions() {
  stop_ = true;
  std::vector<std::thread> threads;
  {
    std::lock_guard guard{mtx_};
    threads.swap(threads_);
  }
  for (auto& t : threads)
    t.join();
}

} // namespace partita
