#pragma once

#include <string>
#include <string_view>

namespace partita {

class embedded_cluster;

/// What one control command did: applied (with a description for the log), asked to quit, or
/// was refused with a message saying what is wrong and what is allowed.
struct control_result {
  enum class kind { applied, quit, refused };
  kind outcome;
  std::string message;
};

/// Applies one line of partita-cluster's control protocol to `cluster`:
///   down <broker> | up <broker> | leader <topic> <partition> <broker> |
///   coordinator <group> <broker> | error <api-key-name> <error-name> <count> |
///   rtt <broker> <ms> | quit
/// Never throws for bad input: a malformed command is `refused`.
control_result apply_control_command(embedded_cluster& cluster, std::string_view line);

} // namespace partita
