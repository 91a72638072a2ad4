// partita-table-member: a member of group "orders" (support/orders_graph.hpp: a join of
// users-table and a lookup of prices) as a process of its own, for the tests that kill
// members of a group with joined and looked-up tables (test/actors/table_faults.cpp). With
// --recover-ahead, it follows every partition of the joined table, not only its own.

#include "apps/http_endpoint.hpp"
#include "apps/service_options.hpp"
#include "runtime/processor.hpp"
#include "runtime/signals.hpp"
#include "test/support/orders_graph.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

using namespace partita;

int main(int argc, char** argv) {
  CLI::App app{"partita-table-member: counts orders per user with a joined and a looked-up "
               "table"};
  service_options options{app};
  std::string group = "orders";
  app.add_option("--group", group)->capture_default_str();
  bool recover_ahead = false;
  app.add_flag("--recover-ahead", recover_ahead, "follow every partition of the joined table");
  if (auto code = options.parse(argc, argv))
    return *code;
  auto settings = options.settings();
  settings.processor.recover_ahead = recover_ahead;
  // Before any thread starts, so that every thread leaves SIGTERM to the handler.
  stop_slot slot;
  stop_on_signal([&] { slot.stop(); }, settings.shutdown_timeout);
  try {
    processor proc{settings.processor, test::orders_graph(group)};
    http_endpoint endpoint{proc, http_endpoint_config{settings.http, {}, {}, {}}};
    auto held = slot.hold(proc);
    proc.run();
  } catch (const std::exception& e) {
    std::cerr << "partita-table-member: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
