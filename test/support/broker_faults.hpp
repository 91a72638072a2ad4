#pragma once

// Broker crashes as a real cluster has them, on the embedded cluster (whose mock elects no
// leaders: the test does what a controller would).

#include "runtime/embedded_cluster.hpp"

#include <string>
#include <vector>

namespace partita::test {

/// Takes broker `b` (of 3) down as a crash would, and moves the leadership of every partition
/// of `topics`, and the coordinator of `group`, to the two brokers left.
inline void crash_broker(embedded_cluster& cluster, int32_t b,
                         const std::vector<std::string>& topics, int partitions,
                         const std::string& group) {
  cluster.broker_down(b);
  int32_t others[2] = {b % 3 + 1, (b + 1) % 3 + 1};
  for (const auto& topic : topics)
    for (int p = 0; p < partitions; ++p)
      cluster.move_leader(topic, p, others[p % 2]);
  cluster.move_coordinator(group, others[0]);
}

} // namespace partita::test
