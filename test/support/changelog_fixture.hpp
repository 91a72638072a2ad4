#pragma once

// A store and changelogs made record by record, for the tests of the hand-over rule
// (actors.handover, actors.owners).

#include "actors/handover.hpp"

#include "actors/changelog_replay.hpp"
#include "actors/partition_meta.hpp"

#include <filesystem>
#include <memory>

#include <unistd.h>

namespace partita::test {


inline const std::vector<std::string> inputs{"clicks"};

inline changelog_record rec(int64_t offset, writer_id w, std::string key,
                     std::optional<std::string> value, int64_t vouches = -1) {
  changelog_record r;
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  r.writer = w;
  if (vouches >= 0)
    r.vouches = checkpoint{"clicks", vouches};
  return r;
}

inline changelog_record legacy_marker(int64_t offset, int64_t vouches) {
  changelog_record r;
  r.offset = offset;
  r.key = std::string{legacy_marker_prefix} + "clicks";
  r.value = std::to_string(vouches);
  r.legacy_marker = true;
  r.vouches = checkpoint{"clicks", vouches};
  return r;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-handover-test-" + std::to_string(::getpid()));
  std::unique_ptr<partition_store> store;
  /// The changelog partition, from offset 0.
  std::vector<changelog_record> log;
  int64_t read_from = -1;

  fixture() {
    std::filesystem::remove_all(dir);
    store = std::make_unique<partition_store>(store_config{dir});
  }
  ~fixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }

  /// The timers and windows changelog partitions, from offset 0 (a group with those).
  std::vector<changelog_record> timer_log;
  std::vector<changelog_record> window_log;

  static changelog_source source_of(const std::vector<changelog_record>& records,
                                    int64_t* read_from = nullptr) {
    return [&records, read_from](int64_t from, const auto& apply) {
      if (read_from)
        *read_from = from;
      std::vector<changelog_record> chunk;
      for (const auto& r : records)
        if (r.offset >= from)
          chunk.push_back(r);
      if (!chunk.empty())
        apply(chunk);
      return static_cast<int64_t>(records.size());
    };
  }

  /// Takes the partition over as assigned in group generation `generation` (0: not known).
  handover_result take(int32_t generation = 0) {
    return take_over(*store, inputs, source_of(log, &read_from), {}, generation);
  }

  handover_result take_with_timers() {
    auto timers = source_of(timer_log);
    return take_over(*store, inputs, source_of(log, &read_from), side_sources{&timers, nullptr});
  }

  handover_result take_with_sides() {
    auto timers = source_of(timer_log);
    auto windows = source_of(window_log);
    return take_over(*store, inputs, source_of(log, &read_from),
                     side_sources{&timers, &windows});
  }

  /// Makes the store one that wrote the changelog up to `changelog` as `writer` and has the
  /// batch `pending` (applied, not acknowledged) in its table.
  void own(int64_t writer, int64_t changelog, int64_t acked, const pending_batch* pending) {
    partition_store::write_batch b{*store};
    b.set_meta(meta::writer, writer);
    b.set_meta(meta::epoch, 1);
    b.set_meta(meta::changelog, changelog);
    b.set_meta(meta::acked("clicks"), acked);
    b.set_meta(meta::applied("clicks"), pending ? pending->last_offset : acked);
    if (pending) {
      for (const auto& c : pending->changes)
        b.put(c.key, *c.after);
      b.put_pending(pending->seq, pending->encode());
    }
    b.commit();
  }

  std::string value(const std::string& key) { return store->get(key).value_or("(none)"); }
};

inline pending_batch one_pending() {
  pending_batch p;
  p.seq = 4;
  p.topic = "clicks";
  p.last_offset = 19;
  p.changes.push_back({"alice", std::string{"2"}, std::string{"5"}});
  p.changes.push_back({"bob", std::nullopt, std::string{"1"}});
  p.outputs.push_back({"out", "alice", "five", {{"partita.source", "clicks/0/19"}}});
  return p;
}

} // namespace partita::test
