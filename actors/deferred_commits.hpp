#pragma once

// A partition's deferred commits (ctx.defer_commit(), runtime/commit_handle.hpp): the handles
// its behaviors opened and have not called yet, by batch. A batch that holds one is committed
// to the store (as a pending batch) and not produced; the batches after it wait behind it. The
// store names the first batch held (meta deferred-from): a start on the store undoes it and
// every batch after it, so their records are processed again (handover.cpp).

#include "runtime/commit_handle.hpp"

#include <caf/actor_addr.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace partita {

/// Where ctx.defer_commit() opens its handles (engine_context): a partition's deferred
/// commits; none under the tester, whose handles do nothing.
class deferral_source {
public:
  virtual ~deferral_source() = default;
  /// A handle for the record at `offset` of `topic`, and its number.
  virtual std::pair<commit_handle, uint64_t> open(const std::string& topic, int64_t offset) = 0;
  /// The record failed: its handle no longer counts (a call of it does nothing).
  virtual void drop(uint64_t id) = 0;
};

class deferred_commits final : public deferral_source {
public:
  struct record {
    std::string topic;
    int64_t offset = -1;
    std::optional<uint64_t> seq; // its batch, once committed
  };
  /// A call of handle `id`: its record, and whether its batch holds no other handle now.
  struct call {
    record of;
    bool batch_free = false;
  };

  /// The partition actor handles' calls go to (as deferred_atom).
  void bind(caf::actor_addr partition) { partition_ = std::move(partition); }

  std::pair<commit_handle, uint64_t> open(const std::string& topic, int64_t offset) override;
  void drop(uint64_t id) override { handles_.erase(id); }

  /// Batch `seq` holds these handles (those still open).
  void hold(uint64_t seq, const std::vector<uint64_t>& ids);
  /// Handle `id` was called; nullopt: it no longer counts (its record failed).
  std::optional<call> called(uint64_t id);
  /// The record of handle `id`, still held (null: it no longer counts).
  const record* find(uint64_t id) const {
    auto h = handles_.find(id);
    return h == handles_.end() ? nullptr : &h->second;
  }
  bool holds(uint64_t seq) const { return batches_.count(seq) > 0; }
  /// The first batch held: it and the batches after it are undone by a start on the store.
  std::optional<uint64_t> first_held() const;
  /// Handles open: records whose commit waits.
  std::size_t open() const { return handles_.size(); }
  /// A handle was opened since the partition started (the store's meta is kept up to date).
  bool used() const { return next_ > 0; }

private:
  caf::actor_addr partition_;
  uint64_t next_ = 0;
  std::map<uint64_t, record> handles_;
  std::map<uint64_t, std::size_t> batches_; // seq -> handles open
};

} // namespace partita
