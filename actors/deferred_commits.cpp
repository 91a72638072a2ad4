#include "actors/deferred_commits.hpp"

#include "actors/partition_batch.hpp"
#include "actors/partition_meta.hpp"

#include <caf/all.hpp>

#include <spdlog/spdlog.h>

#include <atomic>

namespace partita {

namespace {

/// A handle's call, to the partition that opened it: the first call counts; once that
/// partition is gone (restarted, revoked) the call reaches nothing, and its batch is undone.
struct deferral_sink final : commit_handle::sink {
  deferral_sink(caf::actor_addr partition, uint64_t id) : partition(std::move(partition)), id(id) {}
  void complete(std::optional<std::string> error) override {
    if (called.exchange(true))
      return;
    if (auto to = caf::actor_cast<caf::actor>(partition))
      caf::anon_send(to, deferred_atom::value, id, error.value_or(std::string{}),
                     error.has_value());
  }
  caf::actor_addr partition;
  uint64_t id;
  std::atomic<bool> called{false};
};

} // namespace

std::pair<commit_handle, uint64_t> deferred_commits::open(const std::string& topic,
                                                          int64_t offset) {
  auto id = next_++;
  handles_.emplace(id, record{topic, offset, std::nullopt});
  return {commit_handle{std::make_shared<deferral_sink>(partition_, id)}, id};
}

void deferred_commits::hold(uint64_t seq, const std::vector<uint64_t>& ids) {
  for (auto id : ids)
    if (auto h = handles_.find(id); h != handles_.end()) {
      h->second.seq = seq;
      ++batches_[seq];
    }
}

std::optional<deferred_commits::call> deferred_commits::called(uint64_t id) {
  auto h = handles_.find(id);
  if (h == handles_.end())
    return std::nullopt;
  call out{std::move(h->second), true};
  handles_.erase(h);
  if (out.of.seq) {
    auto b = batches_.find(*out.of.seq);
    out.batch_free = --b->second == 0;
    if (out.batch_free)
      batches_.erase(b);
  }
  return out;
}

std::optional<uint64_t> deferred_commits::first_held() const {
  if (batches_.empty())
    return std::nullopt;
  return batches_.begin()->first;
}

namespace detail {

namespace {

/// The work of a deferred record failed: the poison policy applies to it. Its batch, and the
/// ones after it, are undone at the restart and their records processed again; once the record
/// has failed more often than the dead-letter policy retries, it is dead-lettered there without
/// running its behavior again (process()).
void deferred_work_failed(partition_self self, const deferred_commits::record& r,
                          const std::string& error) {
  auto& st = self->state;
  auto attempts = earlier_failures(st, r.topic, r.offset) + 1;
  try {
    partition_store::write_batch batch{*st.store};
    batch.set_meta(meta::poison(r.topic), r.offset);
    batch.set_meta(meta::poison_attempts(r.topic), attempts);
    commit_meta(st, batch);
  } catch (const std::exception& e) {
    return fail(self, e.what());
  }
  auto where = r.topic + "/" + std::to_string(st.cfg.partition) + "@" + std::to_string(r.offset);
  bool to_dead_letter =
      st.cfg.on_poison == poison_policy::dead_letter && attempts > st.cfg.poison_retries;
  fail(self,
       "the deferred work of " + where + " failed (attempt " + std::to_string(attempts) +
           "): " + error +
           (to_dead_letter ? "; it goes to " + st.dead_letter_topic + " once the partition restarts"
                           : ""),
       st.cfg.on_poison == poison_policy::stop_partition ? errc::partition_stopped
                                                         : errc::partition_failed);
}

} // namespace

void on_deferred(partition_self self, uint64_t id, const std::optional<std::string>& error) {
  auto& st = self->state;
  if (st.failure)
    return;    // its batches are undone at the restart
  if (error) { // its batch stays held: undone at the restart
    if (const auto* r = st.deferred.find(id))
      deferred_work_failed(self, *r, *error);
    return;
  }
  auto before = st.deferred.first_held();
  auto call = st.deferred.called(id);
  if (!call)
    return;
  st.figures->count_deferred(st.deferred.open());
  if (call->batch_free && before != st.deferred.first_held()) {
    // The store names the first batch still held before any of this one's effects go: a crash
    // from now on sends it again, as any pending batch.
    try {
      save_meta(st);
    } catch (const std::exception& e) {
      return fail(self, e.what());
    }
  }
  if (call->batch_free)
    send_unsent(self);
  if (st.holding) // it looks again why it holds
    self->send(self, lease_atom::value);
  finish_drain(self, false);
}

std::size_t held_back(const partition_state& st) {
  std::size_t n = 0;
  for (const auto& b : st.unsent)
    if (n > 0 || st.deferred.holds(b.batch.seq))
      ++n;
  return n;
}

} // namespace detail

} // namespace partita
