#include "actors/table_partition.hpp"

#include "actors/changelog_format.hpp"
#include "actors/changelog_replay.hpp"
#include "actors/handover.hpp"
#include "actors/partition_figures.hpp"
#include "actors/partition_meta.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace partita {

table_partition_state::~table_partition_state() = default;

namespace {

using self_ptr = caf::stateful_actor<table_partition_state>*;

metrics::labels labels_of(const table_partition_config& cfg) {
  return partition_labels(cfg.partition, {{"table", cfg.topic}});
}

void find_figures(table_partition_state& st) {
  auto& m = *st.cfg.figures;
  auto l = labels_of(st.cfg);
  st.position = &m.gauge("partita_table_position",
                         "Next offset of each followed table partition not yet read.", l);
  st.bytes = &m.gauge("partita_store_bytes", "Bytes of each partition's LMDB state in use.", l);
  st.records = &m.counter("partita_table_records_total",
                          "Records of each followed table partition read (applied by the reading rule).", l);
}

void update_figures(table_partition_state& st) {
  auto& h = *st.cfg.handle;
  *st.position = h.position.load();
  *st.bytes = static_cast<int64_t>(st.cfg.store->bytes_used());
}

void apply(self_ptr self, const record_batch& in) {
  auto& st = self->state;
  auto& records = st.parsed;
  records.clear();
  for (auto* m : in.records)
    records.push_back(parse_changelog_record(m)); // a bad Partita header throws: the actor fails
  if (st.pending_writer != 0 &&
      std::any_of(records.begin(), records.end(),
                  [&](const auto& r) { return r.writer.store != st.pending_writer; })) {
    // Another writer took the partition over: this store's pending batches will never be sent
    // (the hand-over rule's stale path). They are undone, and the partition is read again from
    // where the store stood, as take_over() does: the store's own records read since may be
    // among what was undone.
    auto n = roll_back_pending(*st.cfg.store, st.cfg.standby_inputs);
    partition_store::write_batch back{*st.cfg.store};
    back.set_meta(meta::changelog, st.started_at);
    back.commit();
    throw std::runtime_error("another member writes the partition: " + std::to_string(n) +
                             " pending batches of an earlier ownership rolled back; reading "
                             "again from offset " + std::to_string(st.started_at));
  }
  st.replay->apply(records);
  auto n = static_cast<int64_t>(in.records.size());
  st.cfg.handle->position = in.records.back()->offset + 1;
  st.cfg.handle->applied += n;
  *st.records += n;
}

} // namespace

caf::behavior table_partition(self_ptr self, table_partition_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.log = logger("table");
  auto& h = *st.cfg.handle;
  h.recovered = false;
  h.end = -1;
  try {
    if (!st.cfg.store)
      throw store_error(st.cfg.store_error);
    bool standby = !st.cfg.standby_inputs.empty();
    st.replay = std::make_unique<changelog_replay>(
      *st.cfg.store, standby ? changelog_replay::plain_records::wait_for_checkpoint
                             : changelog_replay::plain_records::count_at_once);
    if (standby) {
      bool pending = false;
      st.cfg.store->for_each_pending([&](uint64_t, std::string_view) { pending = true; });
      if (pending)
        st.pending_writer = st.cfg.store->meta(meta::writer).value_or(0);
    }
    h.position = st.cfg.store->meta(meta::changelog).value_or(0);
    st.started_at = h.position;
  } catch (const std::exception& e) {
    self->quit(caf::make_error(errc::partition_failed,
                               "table " + st.cfg.topic + "/" + std::to_string(st.cfg.partition) +
                                 ": cannot open its store: " + e.what()));
    return {};
  }
  set_partition_status(*st.cfg.figures, labels_of(st.cfg), partition_status::recovering);
  find_figures(st);
  update_figures(st);
  return {
    [=](offsets_atom) { return self->state.cfg.handle->position.load(); },
    [=](batch_atom, const record_batch_ptr& batch) {
      auto& st = self->state;
      st.cfg.flow->in_flight -= static_cast<int64_t>(batch->records.size());
      try {
        apply(self, *batch);
      } catch (const std::exception& e) {
        self->quit(caf::make_error(errc::partition_failed,
                                   "table " + st.cfg.topic + "/" +
                                     std::to_string(st.cfg.partition) + ": " + e.what()));
        return;
      }
      update_figures(st);
    },
    [=](eof_atom, int64_t end) {
      auto& st = self->state;
      auto& h = *st.cfg.handle;
      // The consumer reached the end: records before it were sent before this message (the
      // offsets between the last record and the end hold none: transaction markers).
      h.position = std::max(end, h.position.load());
      h.end = h.position.load();
      if (!h.recovered) {
        h.recovered = true;
        set_partition_status(*st.cfg.figures, labels_of(st.cfg), partition_status::running);
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started);
        st.log->info("[{}/{}] recovered: {} records in {:.2f} s, {} keys", st.cfg.topic,
                     st.cfg.partition, h.applied.load(), secs.count(), st.cfg.store->size());
      }
      update_figures(st);
    },
  };
}

} // namespace partita
