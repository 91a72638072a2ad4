#pragma once

// The caller's side of a visit (processor::visit_all; docs/tables.md): one start record per
// partition of `<group>-visits`, then the done record of each partition, from whichever member
// owns it by then. Engine internals.

#include "runtime/graph_definition.hpp"
#include "runtime/kafka_config.hpp"
#include "runtime/processor.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace partita {

/// Starts visitor `name` of `graph` with `value` (encoded by its codec) in every partition and
/// waits for each to report done. Throws visit_error when a partition could not visit, or not
/// within `timeout` or once `cancelled()`; config_error when the visits topic does not exist.
visit_result run_visit(const kafka_properties& kafka, const graph_definition& graph,
                       const std::string& name, std::string value,
                       std::chrono::milliseconds timeout,
                       const std::function<void(const visit_status&)>& on_progress,
                       const std::function<bool()>& cancelled);

} // namespace partita
