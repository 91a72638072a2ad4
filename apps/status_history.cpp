#include "apps/status_history.hpp"

namespace partita {

status_history::status_history(std::function<nlohmann::json()> status,
                               std::chrono::milliseconds interval, std::size_t length)
  : status_(std::move(status)), interval_(interval), length_(length) {
  thread_ = std::thread{[this] {
    std::unique_lock lock{mtx_};
    while (!stop_) {
      lock.unlock();
      sample();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stop_; });
    }
  }};
}

status_history::~status_history() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void status_history::sample() {
  nlohmann::json s;
  try {
    s = status_();
  } catch (const std::exception&) {
    return; // the processor is going away: no sample this time
  }
  nlohmann::json point{{"t", std::chrono::duration<double>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count()},
                       {"records", s.value("records", uint64_t{0})},
                       {"lag", nlohmann::json::object()},
                       {"brokers", nlohmann::json::object()}};
  // A partition by its number; by group and number when several processors are served.
  bool several = s["processors"].size() > 1;
  for (const auto& p : s["partition_list"])
    point["lag"][(several ? p["group"].get<std::string>() + "/" : std::string{}) +
                 std::to_string(p["partition"].get<int>())] = p["lag"];
  for (const auto& b : s["brokers"])
    point["brokers"][std::to_string(b["broker"].get<int>())] = b["up"];
  std::lock_guard guard{mtx_};
  samples_.push_back(std::move(point));
  while (samples_.size() > length_)
    samples_.pop_front();
}

nlohmann::json status_history::json() const {
  std::lock_guard guard{mtx_};
  nlohmann::json out{{"interval_seconds", std::chrono::duration<double>(interval_).count()},
                     {"samples", nlohmann::json::array()}};
  for (const auto& s : samples_)
    out["samples"].push_back(s);
  return out;
}

} // namespace partita
