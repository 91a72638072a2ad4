#include "apps/status_report.hpp"

#include <map>
#include <memory>
#include <tuple>

namespace partita {

namespace {

std::string label(const metrics::sample& s, const std::string& name) {
  for (const auto& [n, v] : s.tags)
    if (n == name)
      return v;
  return {};
}

/// The rows of the status report, filled sample by sample.
struct report_rows {
  std::map<std::pair<std::string, int>, nlohmann::json> partitions; // by group, partition
  std::map<int, nlohmann::json> brokers; // the first running processor's
  std::map<std::pair<std::string, std::string>, int> leaders;        // topic, partition: broker
  std::map<std::pair<std::string, std::string>, nlohmann::json> topics; // by group, topic
  std::map<std::tuple<std::string, std::string, int>, nlohmann::json> tables;

  nlohmann::json& partition(const std::string& group, const metrics::sample& s) {
    int p = std::stoi(label(s, "partition"));
    auto& row = partitions[{group, p}];
    if (row.is_null())
      row = {{"group", group},          {"partition", p},       {"state", "unknown"},
             {"lag", 0},                {"committed", nlohmann::json::object()},
             {"deferred", 0},           {"restarts", 0},        {"backoff_seconds", 0.0},
             {"last_restart", 0},       {"recovery", 1.0},      {"store_bytes", 0}};
    return row;
  }
  nlohmann::json& topic(const std::string& group, const std::string& name) {
    auto& row = topics[{group, name}];
    if (row.is_null())
      row = {{"group", group},  {"topic", name},    {"consumed", 0},
             {"processed", 0},  {"produced", 0},    {"dead_lettered", 0}};
    return row;
  }
  nlohmann::json& table(const std::string& group, const metrics::sample& s) {
    int p = std::stoi(label(s, "partition"));
    auto& row = tables[{group, label(s, "table"), p}];
    if (row.is_null())
      row = {{"group", group}, {"table", label(s, "table")}, {"partition", p},
             {"state", "unknown"}, {"position", 0}, {"lag", 0}, {"store_bytes", 0}};
    return row;
  }

  /// A sample of a followed table's partition (a join's, a lookup's, a view's, standby's).
  void add_table(const std::string& group, const metrics::sample& s) {
    const auto& n = s.name;
    auto value = static_cast<int64_t>(s.value);
    if (n == "partita_partition_state" && s.value == 1)
      table(group, s)["state"] = label(s, "state");
    else if (n == "partita_table_position")
      table(group, s)["position"] = value;
    else if (n == "partita_table_lag_records")
      table(group, s)["lag"] = value;
    else if (n == "partita_store_bytes")
      table(group, s)["store_bytes"] = value;
  }

  /// A sample of processor `group`'s registry; a stopped one's brokers are not current.
  void add(const std::string& group, bool running, const metrics::sample& s) {
    if (!label(s, "table").empty() && !label(s, "partition").empty())
      return add_table(group, s);
    const auto& n = s.name;
    auto value = static_cast<int64_t>(s.value);
    if (n == "partita_partition_state" && s.value == 1)
      partition(group, s)["state"] = label(s, "state");
    else if (n == "partita_consumer_lag_records")
      partition(group, s)["lag"] = partition(group, s)["lag"].get<int64_t>() + value;
    else if (n == "partita_committed_offset")
      partition(group, s)["committed"][label(s, "topic")] = value;
    else if (n == "partita_deferred_records")
      partition(group, s)["deferred"] = value;
    else if (n == "partita_partition_restarts_total")
      partition(group, s)["restarts"] = value;
    else if (n == "partita_partition_backoff_seconds")
      partition(group, s)["backoff_seconds"] = s.value;
    else if (n == "partita_partition_last_restart_timestamp_seconds")
      partition(group, s)["last_restart"] = value;
    else if (n == "partita_recovery_progress_ratio")
      partition(group, s)["recovery"] = s.value;
    else if (n == "partita_store_bytes")
      partition(group, s)["store_bytes"] = value;
    else if (!running && (n == "partita_broker_up" || n == "partita_partition_leader"))
      return;
    else if (n == "partita_broker_up") // every processor watches the same brokers
      brokers.try_emplace(std::stoi(label(s, "broker")),
                          nlohmann::json{{"broker", std::stoi(label(s, "broker"))},
                                         {"up", value == 1}, {"leads", 0}});
    else if (n == "partita_partition_leader")
      leaders.try_emplace({label(s, "topic"), label(s, "partition")}, static_cast<int>(value));
    else if (n == "partita_records_consumed_total")
      topic(group, label(s, "topic"))["consumed"] = value;
    else if (n == "partita_records_processed_total")
      topic(group, label(s, "topic"))["processed"] = value;
    else if (n == "partita_records_produced_total")
      topic(group, label(s, "topic"))["produced"] = value;
    else if (n == "partita_records_dead_lettered_total")
      topic(group, label(s, "topic"))["dead_lettered"] = value;
  }
};

} // namespace

nlohmann::json status_report(const std::vector<const processor*>& processors,
                             const std::vector<const raw_view*>& views) {
  report_rows rows;
  nlohmann::json out{{"group", ""},
                     {"running", true},
                     {"partitions", 0},
                     {"ready", 0},
                     {"failed", 0},
                     {"records", 0},
                     {"processors", nlohmann::json::array()},
                     {"partition_list", nlohmann::json::array()},
                     {"brokers", nlohmann::json::array()},
                     {"topics", nlohmann::json::array()},
                     {"tables", nlohmann::json::array()}};
  std::string groups;
  for (const auto* proc : processors) {
    auto stats = proc->stats();
    groups += (groups.empty() ? "" : ", ") + proc->group();
    out["running"] = out["running"].get<bool>() && proc->running();
    out["partitions"] = out["partitions"].get<std::size_t>() + stats.partitions;
    out["ready"] = out["ready"].get<std::size_t>() + stats.ready;
    out["failed"] = out["failed"].get<std::size_t>() + stats.failed;
    out["records"] = out["records"].get<uint64_t>() + stats.records;
    out["processors"].push_back({{"group", proc->group()},
                                 {"running", proc->running()},
                                 {"partitions", stats.partitions},
                                 {"ready", stats.ready},
                                 {"failed", stats.failed},
                                 {"records", stats.records}});
    auto running = proc->running();
    for (const auto& s : proc->metrics().samples())
      rows.add(proc->group(), running, s);
  }
  out["group"] = groups;
  for (const auto* v : views)
    for (const auto& s : v->metrics().samples())
      if (!label(s, "table").empty() && !label(s, "partition").empty())
        rows.add_table("", s);
  for (const auto& [_, broker] : rows.leaders)
    if (auto b = rows.brokers.find(broker); b != rows.brokers.end())
      b->second["leads"] = b->second["leads"].get<int>() + 1;
  for (auto& [_, p] : rows.partitions)
    if (p["state"] != "unknown") // only the partitions this process holds
      out["partition_list"].push_back(std::move(p));
  for (auto& [_, b] : rows.brokers)
    out["brokers"].push_back(std::move(b));
  for (auto& [_, t] : rows.topics)
    out["topics"].push_back(std::move(t));
  for (auto& [_, t] : rows.tables)
    out["tables"].push_back(std::move(t));
  return out;
}

std::string metrics_report(const std::vector<const processor*>& processors,
                           const std::vector<const raw_view*>& views) {
  // The figures of each processor as a whole, next to the engine's own.
  std::vector<std::unique_ptr<metrics>> wholes;
  std::vector<metrics::source> sources;
  for (const auto* proc : processors) {
    auto s = proc->stats();
    auto& whole = *wholes.emplace_back(std::make_unique<metrics>());
    whole.gauge("partita_up", "1 while the processor runs (between joining the group and "
                              "leaving it).") = proc->running() ? 1 : 0;
    whole.gauge("partita_partitions_assigned", "Partitions assigned to this process.") =
      static_cast<int64_t>(s.partitions);
    whole.gauge("partita_partitions_ready", "Assigned partitions recovered and processing.") =
      static_cast<int64_t>(s.ready);
    whole.gauge("partita_partitions_failed",
                "Assigned partitions that failed too often, or were stopped, and stay down.") =
      static_cast<int64_t>(s.failed);
    metrics::labels group;
    if (processors.size() > 1)
      group = {{"group", proc->group()}};
    sources.push_back({&whole, group});
    sources.push_back({&proc->metrics(), group});
  }
  for (const auto* v : views)
    sources.push_back({&v->metrics(), {}});
  return metrics::prometheus(sources);
}

} // namespace partita
