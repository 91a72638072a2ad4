#include "actors/batch_effects.hpp"

#include "actors/messages.hpp"
#include "runtime/crash_point.hpp"

namespace partita {

void batch_ack::delivered(rd_kafka_resp_err_t err, bool is_changelog, int64_t offset) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::lock_guard guard{mtx_};
    if (error_.empty())
      error_ = rd_kafka_err2str(err);
  } else if (is_changelog) {
    for (auto seen = changelog_first_.load();
         offset < seen && !changelog_first_.compare_exchange_weak(seen, offset);) {
    }
    for (auto seen = changelog_last_.load();
         offset > seen && !changelog_last_.compare_exchange_weak(seen, offset);) {
    }
    if (++changelog_delivered_ < count_)
      crash_point(!side_                      ? "mid-changelog"
                  : *side_ == side::timers ? "mid-timers"
                                           : "mid-windows");
  }
  done();
}

void batch_ack::done() {
  if (--pending_ != 0)
    return;
  // Every report is in (the last decrement): the error and the offsets are settled.
  bool foreign = count_ > 0 && error_.empty() &&
                 (changelog_first_ != expected_ || changelog_last_ != expected_ + count_ - 1);
  if (ahead_)
    caf::anon_send(target_, outputs_acked_atom::value, seq_, error_);
  else if (side_)
    caf::anon_send(target_, side_acked_atom::value, seq_, changelog_last_.load(), error_,
                   foreign);
  else
    caf::anon_send(target_, acked_atom::value, seq_, changelog_last_.load(), error_, foreign);
  delete this;
}

namespace {

/// A batch's records of one changelog: the writer on each, the checkpoint (and the batch's
/// number, and `then`) on the last.
void produce_changelog(const effects_target& to, const std::string& topic, writer_id writer,
                       const pending_batch& batch, const std::vector<pending_batch::change>& changes,
                       int64_t number, const std::string& then, batch_ack* ack) {
  std::vector<header> headers{{writer_header, encode_writer(writer)}};
  const auto* last = &changes.back();
  for (const auto& c : changes) {
    if (&c == last) {
      headers.push_back({checkpoint_header, encode_checkpoint({batch.topic, batch.last_offset})});
      if (to.numbered)
        headers.push_back({batch_header, std::to_string(number)});
      if (!then.empty())
        headers.push_back({then_header, then});
    }
    ack->expect();
    to.producer.produce(topic, to.partition, c.key,
                        c.after ? std::string_view{*c.after} : std::string_view{},
                        ack->changelog(), &headers);
  }
}

} // namespace

void produce_side_changes(const effects_target& to, side s, const std::string& topic,
                          writer_id writer, const pending_batch& batch, int64_t number,
                          const std::string& then, batch_ack* ack) try {
  if (!batch.changes_of(s).empty())
    produce_changelog(to, topic, writer, batch, batch.changes_of(s), number, then, ack);
  ack->armed();
} catch (const std::exception& e) {
  ack->aborted(e.what());
}

void produce_outputs(const effects_target& to, const pending_batch& batch, batch_ack* ack) try {
  for (const auto& o : batch.outputs) {
    ack->expect();
    to.producer.produce(o.topic, -1, o.key, o.value, ack->output(),
                        o.headers.empty() ? nullptr : &o.headers);
  }
  ack->armed();
} catch (const std::exception& e) {
  ack->aborted(e.what());
}

void produce_effects(const effects_target& to, const pending_batch& batch, int64_t number,
                     batch_ack* ack, bool outputs) try {
  if (to.table != nullptr && !batch.changes.empty())
    produce_changelog(to, *to.table, to.writer, batch, batch.changes, number, {}, ack);
  if (outputs)
    return produce_outputs(to, batch, ack);
  ack->armed();
} catch (const std::exception& e) {
  ack->aborted(e.what());
}

} // namespace partita
