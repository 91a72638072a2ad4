#include "actors/changelog_replay.hpp"

#include "actors/partition_meta.hpp"

#include <algorithm>

namespace partita {

changelog_replay::changelog_replay(partition_store& store, plain_records plain)
  : store_(store), plain_(plain), epoch_seen_(store.meta(meta::epoch_seen).value_or(0)) {
}

void changelog_replay::apply(std::vector<changelog_record>& records) {
  partition_store::write_batch batch{store_};
  for (auto& r : records) {
    if (plain_ == plain_records::count_at_once && r.writer.store == 0) {
      // Another producer's record: a Partita batch without its checkpoint before it is left
      // out, as when any other writer follows it.
      left_out_ += buffer_.size();
      buffer_.clear();
      current_ = {};
      if (!r.legacy_marker) // a 0.1 checkpoint record is no key of the table
        batch.set(r.key, r.value);
      batch.set_meta(meta::changelog, r.offset + 1);
      continue;
    }
    if (r.legacy_marker) {
      ++legacy_markers_;
    } else {
      if (r.writer.epoch < epoch_seen_) {
        ++superseded_;
        continue;
      }
      if (!r.writer.same(current_)) {
        // The previous writer's batch without its checkpoint: what lies before the new
        // writer's base was vouched for when the new writer took over (its checkpoint record
        // may since have been compacted away); the rest is an unfinished batch.
        for (auto& v : buffer_) {
          if (v.offset >= r.writer.base)
            ++left_out_;
          else
            batch.set(v.key, v.value);
        }
        buffer_.clear();
        current_ = r.writer;
        epoch_seen_ = std::max(epoch_seen_, r.writer.epoch);
      }
    }
    auto vouches = std::move(r.vouches);
    auto at = r.offset;
    if (!r.legacy_marker)
      buffer_.push_back(std::move(r));
    if (!vouches)
      continue;
    for (auto& v : buffer_)
      batch.set(v.key, v.value);
    buffer_.clear();
    const auto& [topic, offset] = *vouches;
    auto known = applied_.find(topic);
    if (known == applied_.end())
      known = applied_.emplace(topic, store_.meta(meta::applied(topic)).value_or(-1)).first;
    if (offset > known->second) {
      known->second = offset;
      batch.set_meta(meta::applied(topic), offset);
      batch.set_meta(meta::acked(topic), offset);
    }
    batch.set_meta(meta::changelog, at + 1);
    batch.set_meta(meta::epoch_seen, epoch_seen_);
  }
  batch.commit();
}

} // namespace partita
