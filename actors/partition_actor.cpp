#include "actors/partition_actor.hpp"

#include "actors/engine_context.hpp"
#include "runtime/changelog_reader.hpp"
#include "runtime/codec.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

namespace partita {

using detail::engine_context;
using detail::key_of;

namespace {

std::string applied_key(const std::string& topic) {
  return "applied:" + topic;
}
std::string acked_key(const std::string& topic) {
  return "acked:" + topic;
}
std::string poison_key(const std::string& topic) {
  return "poison:" + topic;
}
std::string poison_attempts_key(const std::string& topic) {
  return "poison-attempts:" + topic;
}
constexpr const char* changelog_key = "changelog";

/// Changelog records with keys under this prefix are not table entries but checkpoints: "the
/// table values before me include every input record of <topic> up to <offset>". A partition
/// that moves to another process learns from them where its state stands, even when Kafka's
/// committed offset lags (a commit refused during a rebalance).
constexpr std::string_view marker_prefix{"\0partita.applied:", 17};

std::string marker_key(const std::string& topic) {
  return std::string{marker_prefix} + topic;
}

/// Counts the delivery reports of one batch's records and tells the partition actor when the
/// last one is in. Deletes itself then.
class batch_ack {
public:
  batch_ack(caf::actor target, uint64_t seq) : target_(std::move(target)), seq_(seq) {}

  delivery_handler* changelog() { return &changelog_; }
  delivery_handler* output() { return &output_; }
  void expect() { ++pending_; }
  /// Called once every record is handed to the producer.
  void armed() { done(); }

private:
  struct part final : delivery_handler {
    part(batch_ack* owner, bool is_changelog) : owner(owner), is_changelog(is_changelog) {}
    void delivered(rd_kafka_resp_err_t err, int32_t, int64_t offset) override {
      owner->delivered(err, is_changelog, offset);
    }
    batch_ack* owner;
    bool is_changelog;
  };

  void delivered(rd_kafka_resp_err_t err, bool is_changelog, int64_t offset) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::lock_guard guard{mtx_};
      if (error_.empty())
        error_ = rd_kafka_err2str(err);
    } else if (is_changelog) {
      auto seen = changelog_last_.load();
      while (offset > seen && !changelog_last_.compare_exchange_weak(seen, offset)) {
      }
    }
    done();
  }

  void done() {
    if (--pending_ == 0) {
      caf::anon_send(target_, acked_atom::value, seq_, changelog_last_.load(), error_);
      delete this;
    }
  }

  caf::actor target_;
  uint64_t seq_;
  std::atomic<int> pending_{1}; // 1: not armed yet
  std::atomic<int64_t> changelog_last_{-1};
  std::mutex mtx_;
  std::string error_;
  part changelog_{this, true};
  part output_{this, false};
};

using self_ptr = caf::stateful_actor<partition_state>*;

/// A record the partition cannot get past now.
struct poison_error : std::runtime_error {
  poison_error(const std::string& what, bool stop) : std::runtime_error(what), stop(stop) {}
  bool stop; // the policy says: stop the partition, do not restart it
};

void finish_drain(self_ptr self, bool timed_out);

/// The partition cannot go on: it stops taking records, waits (up to the drain timeout) for the
/// effects already produced, saves its offsets, and quits with the error, for the supervisor.
void fail(self_ptr self, const std::string& what, errc code = errc::partition_failed) {
  auto& st = self->state;
  if (st.failure)
    return;
  st.log->error("[{}] partition {} failed: {}", st.cfg.graph->group, st.cfg.partition, what);
  st.failure = caf::make_error(code, what);
  *st.cancel_recovery = true;
  for (const auto& batch : st.stash)
    st.cfg.flow->in_flight -= static_cast<int64_t>(batch->records.size());
  st.stash.clear();
  self->delayed_send(self, st.cfg.drain_timeout, timeout_atom::value);
  finish_drain(self, false);
}

/// Offsets and the changelog position, written with every batch.
void write_meta(partition_state& st, partition_store::write_batch& batch) {
  for (const auto& [topic, offset] : st.tracker.watermarks())
    batch.set_meta(acked_key(topic), offset);
  batch.set_meta(changelog_key, st.changelog_next);
}

/// How many times the record at `offset` of `topic` failed before (stored with the state).
int64_t earlier_failures(const partition_state& st, const std::string& topic, int64_t offset) {
  if (st.store->meta(poison_key(topic)).value_or(-1) != offset)
    return 0;
  return st.store->meta(poison_attempts_key(topic)).value_or(0);
}

/// Commits the batch (state, offsets) and produces its effects: the changelog (last value per
/// key) and the emits; their acknowledgement advances the commit watermark.
void commit_batch(self_ptr self, const std::string& topic, partition_store::write_batch& batch,
                  engine_context& ctx, int64_t last,
                  std::chrono::steady_clock::time_point fetched_at) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  write_meta(st, batch);
  batch.commit();
  if (last < 0)
    return; // only metadata changed
  auto seq = st.next_seq++;
  auto* ack = new batch_ack{caf::actor_cast<caf::actor>(self), seq};
  if (graph.persist) {
    auto table = graph.table_topic();
    for (const auto& [key, value] : batch.changes()) {
      ack->expect();
      st.cfg.producer->produce(table, st.cfg.partition, key,
                               value ? std::string_view{*value} : std::string_view{},
                               ack->changelog());
    }
    // After the values (one partition, idempotent producer: order is kept).
    ack->expect();
    st.cfg.producer->produce(table, st.cfg.partition, marker_key(topic), std::to_string(last),
                             ack->changelog());
    st.figures->emitted(table) += static_cast<int64_t>(batch.changes().size()) + 1;
  }
  for (const auto& e : ctx.emits()) {
    ack->expect();
    st.cfg.producer->produce(*e.topic, -1, e.key, e.value, ack->output(),
                             e.headers.empty() ? nullptr : &e.headers);
    ++st.figures->emitted(*e.topic);
  }
  st.tracker.add(seq, topic, last, fetched_at);
  st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  ack->armed();
}

/// Runs the behaviors over a batch, in one LMDB transaction. A record that fails is handled by
/// the poison policy: the records before it are kept, then the partition fails (to be
/// restarted, or stopped), or the record goes to the dead-letter topic and the batch goes on.
void process(self_ptr self, const record_batch& in) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  const auto* input = graph.input(in.topic);
  if (input == nullptr)
    throw std::logic_error("records of " + in.topic + ", which is not an input");
  auto& applied = st.applied.try_emplace(in.topic, -1).first->second;
  partition_store::write_batch batch{*st.store};
  engine_context ctx{graph, in.topic, batch};
  int64_t last = -1;
  uint64_t count = 0;
  for (const auto* m : in.records) {
    // Never apply a record twice: after a restart the consumer may start before `applied`.
    if (m->offset <= applied)
      continue;
    ctx.set_record(m);
    try {
      input->handle(ctx);
      ctx.keep();
    } catch (const std::exception& e) {
      ctx.drop();
      auto where = in.topic + "/" + std::to_string(m->partition) + "@" +
                   std::to_string(m->offset) + " (key '" + std::string{key_of(m)} + "')";
      auto attempts = earlier_failures(st, in.topic, m->offset) + 1;
      if (st.cfg.on_poison == poison_policy::dead_letter && attempts > st.cfg.poison_retries) {
        st.log->warn("[{}] partition {}: {} failed {} times; sent to {}: {}", graph.group,
                     st.cfg.partition, where, attempts, st.dead_letter_topic, e.what());
        ctx.forward(st.dead_letter_topic,
                    {{"partita.error", e.what()},
                     {"partita.topic", in.topic},
                     {"partita.partition", std::to_string(m->partition)},
                     {"partita.offset", std::to_string(m->offset)}});
        ++st.figures->dead_lettered(in.topic);
        last = m->offset; // handled, though not applied
        continue;
      } else {
        // Keep what the records before it did, and count the attempt.
        batch.set_meta(poison_key(in.topic), m->offset);
        batch.set_meta(poison_attempts_key(in.topic), attempts);
        if (last >= 0) {
          applied = last;
          batch.set_meta(applied_key(in.topic), applied);
        }
        commit_batch(self, in.topic, batch, ctx, last, in.fetched_at);
        *st.cfg.records += count;
        st.figures->processed(in.topic) += static_cast<int64_t>(count);
        throw poison_error(where + " failed (attempt " + std::to_string(attempts) +
                             "): " + e.what(),
                           st.cfg.on_poison == poison_policy::stop_partition);
      }
    }
    last = m->offset;
    ++count;
  }
  if (last < 0)
    return;
  applied = last;
  batch.set_meta(applied_key(in.topic), applied);
  commit_batch(self, in.topic, batch, ctx, last, in.fetched_at);
  *st.cfg.records += count;
  st.figures->processed(in.topic) += static_cast<int64_t>(count);
}

void handle_batch(self_ptr self, const record_batch_ptr& batch) {
  auto& st = self->state;
  if (st.failure) {
    // Dropped: the restarted partition fetches them again from its durable offset.
  } else if (st.recovering) {
    st.stash.push_back(batch);
    return;
  } else {
    try {
      process(self, *batch);
    } catch (const poison_error& e) {
      fail(self, e.what(), e.stop ? errc::partition_stopped : errc::partition_failed);
    } catch (const std::exception& e) {
      fail(self, e.what());
    }
  }
  st.cfg.flow->in_flight -= static_cast<int64_t>(batch->records.size());
}

/// Ends a drain (revocation, stop) or a failure once nothing is in flight (or the time is up):
/// saves the offsets, answers the drain, and quits — with the failure's error, if any.
void finish_drain(self_ptr self, bool timed_out) {
  auto& st = self->state;
  if (!st.drain && !st.failure)
    return;
  if (!timed_out && (st.recovering || st.tracker.pending() > 0))
    return;
  if (timed_out && st.tracker.pending() > 0)
    st.log->warn("[{}] partition {}: drain timed out with {} batches unacknowledged; their "
                 "records will be processed again",
                 st.cfg.graph->group, st.cfg.partition, st.tracker.pending());
  try {
    partition_store::write_batch batch{*st.store};
    write_meta(st, batch);
    batch.commit();
  } catch (const std::exception& e) {
    st.log->error("[{}] partition {}: cannot save offsets: {}", st.cfg.graph->group,
                  st.cfg.partition, e.what());
  }
  if (st.drain) {
    offset_map acked{st.tracker.watermarks().begin(), st.tracker.watermarks().end()};
    st.drain->deliver(acked);
    st.drain.reset();
  }
  if (st.failure)
    self->quit(*st.failure);
  else
    self->quit();
}

void start_recovery(self_ptr self) {
  auto& st = self->state;
  const auto& graph = *st.cfg.graph;
  st.recovering = true;
  auto store = st.store;
  auto cancel = st.cancel_recovery;
  auto kafka = st.cfg.kafka;
  auto topic = graph.table_topic();
  auto partition = st.cfg.partition;
  auto from = st.changelog_next;
  auto parent = caf::actor_cast<caf::actor>(self);
  auto* figures = st.figures.get(); // outlives the thread: the state joins it
  figures->recovery_progress = 0;
  set_partition_status(figures->registry, partition, partition_status::recovering);
  // The read blocks: it runs on a thread of its own, and is the only user of the store until
  // it reports back.
  st.recovery = std::thread{[=] {
    auto log = logger("recovery", topic, partition);
    auto started = std::chrono::steady_clock::now();
    try {
      uint64_t done = 0;
      auto last_log = started;
      // Values count only once a marker vouches for them; values after the last marker belong
      // to a batch whose input records will be processed again, and are left out.
      std::vector<std::pair<std::string, std::optional<std::string>>> unvouched;
      int64_t begin = 0;
      int64_t end = 0;
      auto result = read_partition(kafka, topic, partition, from, *cancel,
                                   [&](rd_kafka_message_t** msgs, size_t n) {
        partition_store::write_batch batch{*store};
        for (size_t i = 0; i < n; ++i) {
          auto key = key_of(msgs[i]);
          std::optional<std::string> value;
          if (msgs[i]->payload != nullptr)
            value.emplace(static_cast<const char*>(msgs[i]->payload), msgs[i]->len);
          if (!key.starts_with(marker_prefix)) {
            unvouched.emplace_back(std::string{key}, std::move(value));
            continue;
          }
          for (auto& [k, v] : unvouched) {
            if (v)
              batch.put(k, *v);
            else
              batch.erase(k);
          }
          unvouched.clear();
          auto input = std::string{key.substr(marker_prefix.size())};
          int64_t offset = value ? std::stoll(*value) : -1;
          for (const auto& name : {applied_key(input), acked_key(input)})
            if (store->meta(name).value_or(-1) < offset)
              batch.set_meta(name, offset);
          batch.set_meta(changelog_key, msgs[i]->offset + 1);
        }
        batch.commit();
        done += n;
        figures->recovered += static_cast<int64_t>(n);
        figures->recovery_progress =
          (msgs[n - 1]->offset + 1 - begin) * 1000 / std::max<int64_t>(1, end - begin);
        auto now = std::chrono::steady_clock::now();
        if (now - last_log > std::chrono::seconds{2}) {
          last_log = now;
          double secs = std::chrono::duration<double>(now - started).count();
          log->info("[{}/{}] recovering: {} records at offset {} ({:.0f}/s)", topic, partition,
                    done, msgs[n - 1]->offset, done / secs);
        }
      }, std::chrono::minutes{5}, [&](int64_t b, int64_t e) {
        begin = b;
        end = e;
      });
      if (!unvouched.empty())
        log->info("[{}/{}] {} changelog records after the last checkpoint left out: their "
                  "input records are processed again",
                  topic, partition, unvouched.size());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                      .count();
      if (result.records > 0)
        log->info("[{}/{}] recovered {} records ({:.1f} MB) in {:.2f} s ({:.0f} records/s)",
                  topic, partition, result.records, result.bytes / 1e6, secs,
                  result.records / std::max(secs, 1e-9));
      caf::anon_send(parent, restored_atom::value, std::string{});
    } catch (const std::exception& e) {
      caf::anon_send(parent, restored_atom::value, std::string{e.what()});
    }
  }};
}

void on_ready(partition_state& st) {
  set_partition_status(*st.cfg.figures, st.cfg.partition, partition_status::running);
  st.figures->recovery_progress = 1000; // also for a group without a table: nothing to recover
  if (!st.counted_ready) {
    st.counted_ready = true;
    ++*st.cfg.ready;
  }
}

} // namespace

partition_state::~partition_state() {
  if (counted_ready)
    --*cfg.ready;
  *cancel_recovery = true;
  if (recovery.joinable())
    recovery.join();
}

caf::behavior partition_actor(self_ptr self, partition_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  const auto& graph = *st.cfg.graph;
  st.log = logger("partition", graph.input_topics().front(), st.cfg.partition);
  st.dead_letter_topic = graph.dead_letter_topic();
  st.figures = std::make_unique<partition_actor_figures>(*st.cfg.figures, st.cfg.partition);
  try {
    st.store = std::make_shared<partition_store>(st.cfg.store);
    partition_store::write_batch fix{*st.store};
    for (const auto& topic : graph.input_topics()) {
      auto applied = st.store->meta(applied_key(topic)).value_or(-1);
      auto acked = st.store->meta(acked_key(topic)).value_or(-1);
      if (acked >= 0)
        st.tracker.restore(topic, acked);
      if (applied > acked) {
        // Stopped before those records' effects were acknowledged: process them again.
        st.log->warn("[{}] partition {}: {} offsets {}..{} were applied but not acknowledged; "
                     "processing them again",
                     graph.group, st.cfg.partition, topic, acked + 1, applied);
        applied = acked;
        fix.set_meta(applied_key(topic), applied);
      }
      st.applied[topic] = applied;
    }
    fix.commit();
    st.changelog_next = st.store->meta(changelog_key).value_or(0);
    st.figures->store_bytes = static_cast<int64_t>(st.store->bytes_used());
  } catch (const std::exception& e) {
    st.log->error("[{}] partition {} cannot start: {}", graph.group, st.cfg.partition, e.what());
    self->quit(caf::make_error(errc::partition_failed, e.what()));
    return {};
  }
  if (graph.persist)
    start_recovery(self);
  else
    on_ready(st);
  return {
    [=](batch_atom, const record_batch_ptr& batch) { handle_batch(self, batch); },
    [=](acked_atom, uint64_t seq, int64_t changelog_last, const std::string& error) {
      auto& st = self->state;
      if (!error.empty())
        return fail(self, "producing effects failed: " + error);
      if (changelog_last >= st.changelog_next)
        st.changelog_next = changelog_last + 1;
      auto& latency = st.figures->commit_latency;
      auto now = std::chrono::steady_clock::now();
      if (st.tracker.ack(seq, [&](std::chrono::steady_clock::time_point fetched) {
            latency.sum += std::chrono::duration_cast<std::chrono::microseconds>(now - fetched)
                             .count();
            ++latency.count;
          }))
        for (const auto& [topic, offset] : st.tracker.watermarks())
          st.cfg.commit(topic, st.cfg.partition, offset + 1);
      finish_drain(self, false);
    },
    [=](restored_atom, const std::string& error) {
      auto& st = self->state;
      st.recovering = false;
      if (st.drain || st.failure) // cancelled, or no longer needed
        return finish_drain(self, false);
      if (!error.empty())
        return fail(self, "recovery from the changelog failed: " + error);
      // The changelog's checkpoints may show more applied than this store knew.
      for (const auto& topic : st.cfg.graph->input_topics()) {
        auto applied = st.store->meta(applied_key(topic)).value_or(-1);
        if (applied > st.applied[topic]) {
          st.applied[topic] = applied;
          st.tracker.restore(topic, applied);
          st.cfg.commit(topic, st.cfg.partition, applied + 1);
        }
      }
      st.changelog_next = std::max(st.changelog_next, st.store->meta(changelog_key).value_or(0));
      on_ready(st);
      auto stash = std::move(st.stash);
      for (const auto& batch : stash)
        handle_batch(self, batch);
      finish_drain(self, false);
    },
    [=](offsets_atom) -> offset_map {
      const auto& wm = self->state.tracker.watermarks();
      return {wm.begin(), wm.end()};
    },
    [=](drain_atom) {
      auto& st = self->state;
      st.drain = self->make_response_promise();
      *st.cancel_recovery = true;
      self->delayed_send(self, st.cfg.drain_timeout, timeout_atom::value);
      finish_drain(self, false);
    },
    [=](timeout_atom) { finish_drain(self, true); },
    [=](get_atom, const std::string& key) -> std::vector<std::string> {
      auto& st = self->state;
      if (st.recovering)
        return {};
      auto value = st.store->get(key);
      return value ? std::vector<std::string>{*value} : std::vector<std::string>{};
    },
  };
}

} // namespace partita
