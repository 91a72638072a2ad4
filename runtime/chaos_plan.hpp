#pragma once

#include "runtime/cluster_controller.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace partita {

/// One step of a chaos run: a control command (see cluster_control.hpp) and when it runs,
/// counted from the start of the run.
struct chaos_step {
  std::chrono::milliseconds at;
  std::string command;
};

/// The kinds of fault a chaos run draws from.
const std::vector<std::string>& chaos_kinds();

/// A reproducible chaos run: the same seed, duration, kinds and books give the same steps.
/// `up` is each broker's state (by id - 1) when the run starts.
/// Kinds: crash (kill, back after 1-5 s), restart (controlled), leader (a partition's leader
/// moves to another of its replicas), coordinator (a group's coordinator moves), errors
/// (a few retriable request errors), latency (a broker answers slowly for a while). At most
/// one broker is out at a time and every broker the run takes down is back by its end, so a
/// cluster with a replication factor of 2 or more keeps serving. A broker already down when
/// the run starts counts as the one out: the run then takes no other down, and moves nothing
/// to it. Throws std::invalid_argument for an unknown kind or a duration under one second.
std::vector<chaos_step> make_chaos_plan(uint64_t seed, std::chrono::milliseconds duration,
                                        const std::vector<std::string>& kinds,
                                        const std::vector<bool>& up,
                                        const std::vector<leadership>& books);

} // namespace partita
