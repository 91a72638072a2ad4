#pragma once

#include "actors/changelog_format.hpp"
#include "runtime/kafka_producer.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

namespace partita {

/// Counts the delivery reports of one batch's records and tells the partition actor when the
/// last one is in (acked_atom, seq, last changelog offset, error, foreign). Deletes itself then.
/// `foreign` is true when the batch's changelog records did not land at the offsets expected
/// for them: another writer wrote that changelog partition in between. For the records of a
/// batch's side changelog (`side_of`), the report is side_acked_atom; for the outputs a batch
/// sends ahead of its table records (`ahead`), outputs_acked_atom (seq, error).
class batch_ack {
public:
  batch_ack(caf::actor target, uint64_t seq, int64_t changelog_expected, int64_t changelog_count,
            std::optional<side> side_of = std::nullopt, bool ahead = false)
    : target_(std::move(target)),
      seq_(seq),
      expected_(changelog_expected),
      count_(changelog_count),
      side_(side_of),
      ahead_(ahead) {}

  delivery_handler* changelog() { return &changelog_; }
  delivery_handler* output() { return &output_; }
  void expect() { ++pending_; }
  /// Called once every record is handed to the producer.
  void armed() { done(); }
  /// A record could not be handed to the producer: the batch fails once the others report.
  void aborted(const std::string& why) {
    {
      std::lock_guard guard{mtx_};
      if (error_.empty())
        error_ = why;
    }
    done();
  }

private:
  struct part final : delivery_handler {
    part(batch_ack* owner, bool is_changelog) : owner(owner), is_changelog(is_changelog) {}
    void delivered(rd_kafka_resp_err_t err, int32_t, int64_t offset) override {
      owner->delivered(err, is_changelog, offset);
    }
    batch_ack* owner;
    bool is_changelog;
  };

  void delivered(rd_kafka_resp_err_t err, bool is_changelog, int64_t offset);
  void done();

  caf::actor target_;
  uint64_t seq_;
  int64_t expected_;
  int64_t count_;
  std::optional<side> side_;
  bool ahead_;
  std::atomic<int> pending_{1}; // 1: not armed yet
  // Delivery reports come on the producer's thread, one per record: atomics, no lock.
  std::atomic<int64_t> changelog_first_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> changelog_last_{-1};
  std::atomic<int64_t> changelog_delivered_{0};
  std::mutex mtx_; // guards error_
  std::string error_;
  part changelog_{this, true};
  part output_{this, false};
};

/// Where a batch's effects go.
struct effects_target {
  kafka_producer& producer;
  const std::string* table = nullptr; // the changelog topic; null for a group without a table
  int32_t partition = 0;
  writer_id writer;
  bool numbered = false; // the graph keeps side tables: checkpoints carry the batch number
};

/// Produces a batch's changelog records (the writer on each, the checkpoint on the last, and
/// the batch's number `number` beside it in a group with side tables) and its outputs, counted by
/// `ack`, which it arms.
void produce_effects(const effects_target& to, const pending_batch& batch, int64_t number,
                     batch_ack* ack, bool outputs = true);

/// Produces a batch's outputs alone, counted by `ack`, which it arms.
void produce_outputs(const effects_target& to, const pending_batch& batch, batch_ack* ack);

/// Produces a batch's records of side table `s` to its changelog `topic` (as `writer`), the
/// same way, its checkpoint naming in `then` the changelog that must confirm it, if any.
void produce_side_changes(const effects_target& to, side s, const std::string& topic,
                          writer_id writer, const pending_batch& batch, int64_t number,
                          const std::string& then, batch_ack* ack);

} // namespace partita
