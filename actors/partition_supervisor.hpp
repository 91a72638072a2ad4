#pragma once

#include "actors/messages.hpp"
#include "actors/restart_schedule.hpp"
#include "runtime/metrics.hpp"

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace partita {

/// What the partition supervisor needs: the policy and the consumer pump's hooks. The hooks run
/// on a scheduler thread and must not block.
struct supervisor_config {
  std::string group;
  restart_policy policy;
  /// Partition p's actor failed: stop fetching for it (nothing is skipped: the restart seeks
  /// back to what its store holds).
  std::function<void(int32_t p)> on_down;
  /// Partition p's backoff is over: start a fresh actor for it, seek to its durable offset,
  /// resume fetching, and send watch_atom with the new actor.
  std::function<void(int32_t p)> restart;
  /// Partition p failed too often and stays down.
  std::function<void(int32_t p, const std::string& reason)> on_failed;
  /// Uniform random numbers in [0, 1) for the jitter.
  std::function<double()> random;
  /// Where restarts, backoff and waiting/failed states are counted.
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
  /// Labels added to each partition's figures (a followed table's name).
  metrics::labels labels;
  /// Only leader moves of these topics restart a waiting partition early (empty: any topic).
  std::vector<std::string> topics;
};

/// One supervised partition.
struct supervised_partition {
  enum status_t { running, waiting, restarting, failed };
  caf::actor child;
  restart_schedule schedule;
  status_t status = running;
  /// Tells a timed restart from one overtaken by an early restart.
  uint64_t generation = 0;
};

struct supervisor_state {
  static inline const char* name = "partition-supervisor";
  supervisor_config cfg;
  std::shared_ptr<spdlog::logger> log;
  std::map<int32_t, supervised_partition> partitions;
};

///  Watches (monitors, never links) the partition actors of one processor and restarts a
///  failed one with backoff. It never dies with a child.
///
///             watch                down (error)              backoff over, or
///   (none) ---------> running  -------------------> waiting  leader moved / broker up
///                       ^  ^                           |      ----------------------+
///                       |  +------ watch (new actor) --+- restarting <--------------+
///                       |                              |
///                       +-- unwatch / down (normal): forgotten
///                                                     too many restarts in the window
///                                                      +------------------> failed
///
/// Handles: watch_atom, unwatch_atom, restart_atom (its own timer), leader_atom and
/// broker_up_atom (from the broker monitor: restart waiting partitions at once), ping_atom
/// (answered at once: the actor system is responsive), down_msg.
caf::behavior partition_supervisor(caf::stateful_actor<supervisor_state>* self,
                                   supervisor_config cfg);

} // namespace partita
