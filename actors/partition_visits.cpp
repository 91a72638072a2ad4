// A partition actor's visits (graph.visitor, processor::visit_all; docs/tables.md): a start
// record of `<group>-visits` becomes a progress entry beside the timers, and the visit runs in
// chunks, each a batch of its own between input batches, its progress written with its
// changes. A new owner recovers the progress with the table and goes on from there.
// Internal to the partition actor, beside its batch path (partition_batch.hpp).

#include "actors/engine_context.hpp"
#include "actors/partition_batch.hpp"
#include "actors/visit_format.hpp"
#include "runtime/crash_point.hpp"

#include <spdlog/spdlog.h>

namespace partita::detail {

namespace {

/// A chunk visits a batch's worth of keys, or as many as it visits in `chunk_time`, so that
/// input records wait little.
constexpr std::size_t chunk_keys = 1000;
constexpr auto chunk_time = std::chrono::milliseconds{20};
/// Batches not produced yet past which the next chunk waits a little.
constexpr std::size_t unsent_limit = 8;

/// What a partition reports for a visit of a visitor its graph does not declare (a member of
/// another version started it).
std::string no_visitor(const graph_definition& graph, const std::string& name) {
  return "group '" + graph.group + "' has no visitor '" + name.substr(0, 200) +
         "' here; declare it with graph.visitor";
}

std::optional<visit_progress> first_visit(const partition_store& store) {
  std::optional<visit_progress> out;
  store.scan_side(side::timers, visit_progress_prefix(),
                  [&](std::string_view k, std::string_view v) {
                    if (is_visit_progress(k))
                      out = decode_visit_progress(k, v);
                    return false;
                  });
  return out;
}

} // namespace

std::optional<std::string> begin_visit(partition_state& st, engine_context& ctx,
                                       partition_store::write_batch& batch) {
  try {
    if (visit_record_kind(ctx.payload()) == visit_record::done)
      return std::nullopt;
    auto start = decode_visit_start(ctx.key(), ctx.payload());
    if (st.cfg.graph->visitor(start.name) == nullptr) {
      auto error = no_visitor(*st.cfg.graph, start.name);
      st.log->warn("[{}] partition {}: visit {}: {}", st.cfg.graph->group, st.cfg.partition,
                   start.id, error);
      ctx.emit_engine(st.visits_topic, start.id,
                      encode_visit_done({start.id, st.cfg.partition, 0, error}));
      return std::nullopt;
    }
    st.log->info("[{}] partition {}: visit {} of '{}' starts", st.cfg.graph->group,
                 st.cfg.partition, start.id, start.name);
    visit_progress p;
    p.visit = std::move(start);
    batch.set_side(side::timers, visit_progress_key(p.visit.id), encode_visit_progress(p));
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string{e.what()};
  }
}

void arm_visits(partition_self self) {
  auto& st = self->state;
  if (st.cfg.graph->visitors.empty() || st.visit_scheduled || st.failure || st.drain ||
      !st.restored || !first_visit(*st.store))
    return;
  st.visit_scheduled = true;
  // Never straight to its own mailbox: CAF runs an actor until its mailbox is empty, so a visit
  // chaining its chunks would keep its scheduler thread from every other actor until it ends.
  self->delayed_send(self, std::chrono::milliseconds{st.unsent.size() > unsent_limit ? 5 : 1},
                     visit_atom::value);
}

void visit_chunk(partition_self self) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  auto progress = first_visit(*st.store);
  if (!progress)
    return;
  auto& p = *progress;
  auto now = st.cfg.clock();
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, st.visits_topic, batch, st.cfg.tables.get()};
  ctx.set_now(now);
  const auto* visitor = graph.visitor(p.visit.name);
  std::string error;
  std::optional<std::string> failed; // by a policy that stops the chunk there
  bool more = false;
  std::size_t visited = 0;
  if (visitor == nullptr)
    error = no_visitor(graph, p.visit.name);
  auto from = p.begun ? p.after + '\0' : std::string{};
  auto ends = std::chrono::steady_clock::now() + chunk_time;
  if (visitor != nullptr) {
    auto run = visit_keys(
      ctx, *st.store, from, visitor->handle, p.visit.value, st.cfg.partition, now,
      [&](std::size_t n) { return n == chunk_keys || std::chrono::steady_clock::now() > ends; },
      [&](const std::string& key, const std::string& e) {
        auto where = "visit " + p.visit.id + " of '" + p.visit.name + "', key '" +
                     key.substr(0, 200) + "'";
        if (st.cfg.on_poison != poison_policy::dead_letter) {
          failed = where + " failed: " + e;
          return false; // this key again, once the partition restarts
        }
        st.log->warn("[{}] partition {}: {} failed; sent to {}: {}", graph.group,
                     st.cfg.partition, where, st.dead_letter_topic, e);
        dead_letter(ctx, st.dead_letter_topic, e);
        ++st.figures->dead_lettered(st.visits_topic);
        return true;
      });
    visited = run.count;
    more = run.more;
    if (run.last) {
      p.after = std::move(*run.last);
      p.begun = true;
    }
  }
  p.visited += static_cast<int64_t>(visited);
  auto key = visit_progress_key(p.visit.id);
  if (more) {
    batch.set_side(side::timers, key, encode_visit_progress(p));
  } else {
    batch.set_side(side::timers, key, std::nullopt);
    ctx.emit_engine(st.visits_topic, p.visit.id,
                    encode_visit_done({p.visit.id, st.cfg.partition, p.visited, error}));
    st.log->info("[{}] partition {}: visit {} of '{}' done: {} keys{}", graph.group,
                 st.cfg.partition, p.visit.id, p.visit.name, p.visited,
                 error.empty() ? "" : "; " + error);
  }
  commit_batch(self, "", batch, ctx, -1, std::chrono::steady_clock::now(), true);
  crash_point("after-visit-chunk");
  st.figures->processed(st.visits_topic) += static_cast<int64_t>(visited);
  if (failed)
    throw poison_error(*failed, st.cfg.on_poison == poison_policy::stop_partition);
}

} // namespace partita::detail
