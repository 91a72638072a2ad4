#pragma once

// What the HTTP endpoint reports of the processors and views it serves: the status page's
// figures (/status.json) and the Prometheus text (/metrics).

#include "runtime/processor.hpp"
#include "runtime/view.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace partita {

/// /status.json without its history:
///   {"group": the groups, comma-separated, "running": every processor runs, "partitions",
///    "ready", "failed", "records": summed over the processors,
///    "processors": [{"group", "running", "partitions", "ready", "failed", "records"}],
///    "partition_list": [{"group", "partition", "state", "lag", "committed": {topic: offset},
///                        "deferred", "restarts", "backoff_seconds", "last_restart",
///                        "recovery", "store_bytes"}],   the partitions this process holds
///    "brokers": [{"broker", "up", "leads"}],
///    "topics": [{"group", "topic", "consumed", "processed", "produced", "dead_lettered"}],
///    "tables": [{"group" (empty for a view), "table", "partition", "state", "position",
///                "lag", "store_bytes"}]}   followed tables: joins, lookups, standby, views
nlohmann::json status_report(const std::vector<const processor*>& processors,
                             const std::vector<const raw_view*>& views);

/// The Prometheus text of the processors (with partita_up and the partition counts of each)
/// and of the views. With more than one processor, each processor's figures carry a `group`
/// label; a single processor's carry none, as on an endpoint of its own.
std::string metrics_report(const std::vector<const processor*>& processors,
                           const std::vector<const raw_view*>& views);

} // namespace partita
