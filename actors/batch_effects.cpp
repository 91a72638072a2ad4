#include "actors/batch_effects.hpp"

#include "actors/messages.hpp"
#include "runtime/crash_point.hpp"

namespace partita {

void batch_ack::delivered(rd_kafka_resp_err_t err, bool is_changelog, int64_t offset) {
  {
    std::lock_guard guard{mtx_};
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (error_.empty())
        error_ = rd_kafka_err2str(err);
    } else if (is_changelog) {
      if (changelog_first_ < 0 || offset < changelog_first_)
        changelog_first_ = offset;
      changelog_last_ = std::max(changelog_last_, offset);
      if (++changelog_delivered_ < count_)
        crash_point("mid-changelog");
    }
  }
  done();
}

void batch_ack::done() {
  if (--pending_ != 0)
    return;
  bool foreign = count_ > 0 && error_.empty() &&
                 (changelog_first_ != expected_ || changelog_last_ != expected_ + count_ - 1);
  caf::anon_send(target_, acked_atom::value, seq_, changelog_last_, error_, foreign);
  delete this;
}

void produce_effects(const effects_target& to, const pending_batch& batch, batch_ack* ack) {
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
}

} // namespace partita
