#include "actors/changelog_replay.hpp"

#include "actors/partition_meta.hpp"
#include "actors/timer_format.hpp"

#include <algorithm>

namespace partita {

changelog_replay::changelog_replay(partition_store& store, plain_records plain)
  : store_(store), plain_(plain), position_meta_(meta::changelog), epoch_meta_(meta::epoch_seen),
    epoch_seen_(store.meta(meta::epoch_seen).value_or(0)),
    own_{store.meta(meta::writer).value_or(0), store.meta(meta::epoch).value_or(0), 0} {
}

changelog_replay changelog_replay::of_side(partition_store& store, side s,
                                           confirmation confirmed) {
  changelog_replay r{store};
  r.side_ = s;
  r.name_ = side_name(s);
  r.confirmed_ = std::move(confirmed);
  r.position_meta_ = meta::side_changelog(s);
  r.epoch_meta_ = meta::side_epoch_seen(s);
  r.epoch_seen_ = store.meta(r.epoch_meta_).value_or(0);
  return r;
}

bool changelog_replay::counted(const writer_id& writer, int64_t batch) const {
  auto i = counted_.find({writer.store, writer.epoch});
  if (i == counted_.end()) // counted by an earlier reading of this store, if any
    i = counted_
          .emplace(std::pair{writer.store, writer.epoch},
                   store_.meta(meta::counted(name_, writer.store, writer.epoch)).value_or(0))
          .first;
  return i->second >= batch;
}

void changelog_replay::count(partition_store::write_batch& batch, const writer_id& writer,
                             int64_t number) {
  counted(writer, number); // loads what an earlier reading counted
  auto& most = counted_[{writer.store, writer.epoch}];
  if (number <= most)
    return;
  most = number;
  batch.set_meta(meta::counted(name_, writer.store, writer.epoch), most);
}

bool changelog_replay::below_own(const writer_id& w) const {
  // Only by generation: this store's epoch may have risen by takeovers that never reached the
  // changelog, which a later owner of the same generation (or one counting takeovers, without
  // a generation: an older version, or none known) could not see.
  auto theirs = generation_of(w.epoch);
  return w.store != own_.store && theirs > 0 && theirs < generation_of(own_.epoch);
}

void changelog_replay::note_key(const changelog_record& r) {
  if (!r.legacy_marker && !is_owner_marker(r.key))
    repair_keys_.insert(r.key);
}

void changelog_replay::leave_out(const changelog_record& r) {
  ++left_out_;
  note_key(r);
}

std::vector<std::string> changelog_replay::repair_keys() const {
  std::set<std::string> keys = repair_keys_;
  for (const auto& r : buffer_)
    if (!is_owner_marker(r.key))
      keys.insert(r.key);
  return {keys.begin(), keys.end()};
}

void changelog_replay::vouch(partition_store::write_batch& batch, changelog_record& r) {
  if (!side_)
    batch.set(std::move(r.key), std::move(r.value));
  else if (!is_owner_marker(r.key))
    batch.set_side(*side_, r.key, std::move(r.value));
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
      batch.set_meta(position_meta_, r.offset + 1);
      continue;
    }
    if (r.legacy_marker) {
      ++legacy_markers_;
    } else {
      if (r.writer.epoch < epoch_seen_ || below_own(r.writer)) {
        ++superseded_;
        note_key(r);
        continue;
      }
      if (!r.writer.same(current_)) {
        // The previous writer's batch without its checkpoint: what lies before the new
        // writer's base was vouched for when the new writer took over (its checkpoint record
        // may since have been compacted away); the rest is an unfinished batch.
        for (auto& v : buffer_) {
          if (v.offset >= r.writer.base) {
            leave_out(v);
          } else {
            if (v.vouches && v.batch > 0) // a checkpoint kept back, vouched by the base
              count(batch, v.writer, v.batch);
            vouch(batch, v);
          }
        }
        buffer_.clear();
        current_ = r.writer;
        epoch_seen_ = std::max(epoch_seen_, r.writer.epoch);
      }
    }
    auto vouches = std::move(r.vouches);
    auto at = r.offset;
    auto writer = r.writer;
    auto number = r.batch;
    auto then = std::move(r.then);
    if (!r.legacy_marker)
      buffer_.push_back(std::move(r));
    if (!vouches)
      continue;
    if (side_ && !then.empty() && !confirmed_(then, writer, number)) {
      // Its next changelog's records did not count (yet): the batch stays unvouched, as one
      // without its checkpoint. A later checkpoint of its writer vouches it (the batches of a
      // writer land in order), and so does the next writer's base; otherwise it is left out.
      continue;
    }
    if (number > 0)
      count(batch, writer, number);
    batch.reserve(buffer_.size());
    for (auto& v : buffer_)
      vouch(batch, v);
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
    batch.set_meta(position_meta_, at + 1);
    batch.set_meta(epoch_meta_, epoch_seen_);
  }
  batch.commit();
}

} // namespace partita
