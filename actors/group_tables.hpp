#pragma once

#include "actors/engine_context.hpp"
#include "actors/table_follower.hpp"
#include "runtime/graph_definition.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace partita {

/// The tables a processor's behaviors read besides its own (docs/tables.md): one table
/// follower per joined or looked-up topic. A join follows the partitions assigned to the
/// member, a lookup all of its partitions. Partition actors hold their records until the
/// tables they read are recovered (ready()), then read them while the followers keep them
/// current.
class group_tables final : public detail::table_reader {
public:
  /// `base` gives the follower settings (brokers, state dir, owner); `partitions` the
  /// partition count of each table topic. `recover_ahead`: the joins follow all their
  /// partitions, as lookups do, so a partition handed to the member needs no recovery.
  group_tables(caf::actor_system& sys, const graph_definition& graph, follower_config base,
               const std::map<std::string, int>& partitions, bool recover_ahead = false);

  /// The member was given `partitions`: the joins follow them too (returns once opened).
  void assigned(const std::vector<int32_t>& partitions);
  /// The member gave `partitions` up: the joins release them.
  void revoked(const std::vector<int32_t>& partitions);

  /// Partition p of every join and every partition of every lookup reached its end once.
  bool ready(int32_t p) const;
  /// The tables ready(p) still waits for, for the log.
  std::string waiting_for(int32_t p) const;

  /// The value of `key` in table `t`, read beside input partition `p` (a join) or in the
  /// partition the key hashes to (a lookup; Sarama's and Partita's partitioner).
  std::optional<std::string> read(const table_definition& t, std::string_view key,
                                  int32_t p) const override;

  /// The followers' supervisors (for the broker monitor's events).
  std::vector<caf::actor> supervisors() const;
  bool empty() const { return followers_.empty(); }

private:
  struct table {
    table_definition::kind_t kind;
    int partitions;
    std::unique_ptr<table_follower> follower;
  };
  /// Partition p of `t` (every partition, for a lookup or with recover-ahead) reached its end.
  bool recovered(const table& t, int32_t p) const;

  std::map<std::string, table, std::less<>> followers_;
  bool ahead_ = false;
};

} // namespace partita
