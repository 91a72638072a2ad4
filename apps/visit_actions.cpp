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

nlohmann::json to_json(const visit_status& s) {
  return {{"id", s.id},
          {"visitor", s.name},
          {"partitions", s.partitions},
          {"partitions_done", s.done},
          {"visited", s.visited},
          {"state", !s.error.empty() ? "failed" : s.finished ? "done" : "running"},
          {"error", s.error}};
}

} // namespace

visit_actions::visit_actions(const processor& proc, httplib::Server& srv) : proc_(proc) {
  srv.Post(R"(/visits/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto name = req.matches[1].str();
    try {
      proc_.visitor_codec(name).check(req.body);
    } catch (const graph_error& e) {
      return reply(res, 404, {{"error", e.what()}});
    } catch (const std::exception& e) {
      return reply(res, 400, {{"error", "the body is not a value of visitor '" + name +
                                          "': " + e.what()}});
    }
    // The visit's id is known once it starts: its thread hands it over.
    auto started = std::make_shared<std::promise<std::string>>();
    auto id = started->get_future();
    {
      std::lock_guard guard{mtx_};
      threads_.emplace_back([this, name, value = req.body, started] {
        std::string mine;
        auto report = [&](const visit_status& s) {
          {
            std::lock_guard g{mtx_};
            visits_[s.id] = s;
          }
          if (mine.empty()) {
            mine = s.id;
            started->set_value(s.id);
          }
        };
        try {
          proc_.visit_all_encoded(name, value, std::chrono::hours{24}, report, &stop_);
        } catch (const std::exception& e) {
          if (mine.empty())
            return started->set_exception(std::current_exception());
          std::lock_guard g{mtx_};
          if (auto& s = visits_[mine]; s.error.empty())
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
    reply(res, 200, to_json(i->second));
  });
  srv.Get("/visits", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard guard{mtx_};
    auto list = nlohmann::json::array();
    for (const auto& [id, s] : visits_)
      list.push_back(to_json(s));
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
