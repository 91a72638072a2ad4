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
      crash_point("mid-changelog");
  }
  done();
}

void batch_ack::done() {
  if (--pending_ != 0)
    return;
  // Every report is in (the last decrement): the error and the offsets are settled.
  bool foreign = count_ > 0 && error_.empty() &&
                 (changelog_first_ != expected_ || changelog_last_ != expected_ + count_ - 1);
  caf::anon_send(target_, acked_atom::value, seq_, changelog_last_.load(), error_, foreign);
  delete this;
}

void produce_effects(const effects_target& to, const pending_batch& batch, batch_ack* ack) try {
  if (to.table != nullptr && !batch.changes.empty()) {
    std::vector<header> headers{{writer_header, encode_writer(to.writer)}};
    const auto* last = &batch.changes.back();
    for (const auto& c : batch.changes) {
      if (&c == last)
        headers.push_back({checkpoint_header, encode_checkpoint({batch.topic, batch.last_offset})});
      ack->expect();
      to.producer.produce(*to.table, to.partition, c.key,
                          c.after ? std::string_view{*c.after} : std::string_view{},
                          ack->changelog(), &headers);
    }
  }
  for (const auto& o : batch.outputs) {
    ack->expect();
    to.producer.produce(o.topic, -1, o.key, o.value, ack->output(),
                        o.headers.empty() ? nullptr : &o.headers);
  }
  ack->armed();
} catch (const std::exception& e) {
  ack->aborted(e.what());
}

} // namespace partita
