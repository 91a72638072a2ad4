// The consumer pump's side of the group protocol (consumer_pump.hpp): partitions assigned,
// revoked or lost, and partition actors restarted by the supervisor.

#include "actors/consumer_pump.hpp"

#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>
#include <set>
#include <string_view>

namespace partita {

namespace {

/// The generation of the group the consumer is a member of now, or 0 if it cannot be told.
/// librdkafka has no getter for it; its serialized group metadata ("CGMDv2:", then the
/// generation id) carries it.
int32_t group_generation(rd_kafka_t* rk) {
  std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                  decltype(&rd_kafka_consumer_group_metadata_destroy)>
    cgmd{rd_kafka_consumer_group_metadata(rk), &rd_kafka_consumer_group_metadata_destroy};
  if (!cgmd)
    return 0;
  void* buffer = nullptr;
  size_t size = 0;
  if (auto* error = rd_kafka_consumer_group_metadata_write(cgmd.get(), &buffer, &size)) {
    rd_kafka_error_destroy(error);
    return 0;
  }
  constexpr std::string_view magic = "CGMDv2:";
  int32_t generation = 0;
  std::string_view bytes{static_cast<const char*>(buffer), size};
  if (bytes.starts_with(magic) && size >= magic.size() + sizeof generation)
    std::memcpy(&generation, bytes.data() + magic.size(), sizeof generation);
  rd_kafka_mem_free(rk, buffer);
  return std::max(generation, 0);
}

} // namespace

caf::actor consumer_pump::start_partition(int32_t p, channel& ch) {
  ch.flow = std::make_shared<partition_flow>();
  std::weak_ptr<offset_sink> sink = sink_;
  ch.actor = spawn_(p, ch.flow, [sink, figures = cfg_.figures](const std::string& topic,
                                                               int32_t partition, int64_t next) {
    figures->gauge("partita_committed_offset",
                   "Next offset of each input partition to commit: every record before it is "
                   "applied and its effects acknowledged.",
                   {{"partition", std::to_string(partition)}, {"topic", topic}}) = next;
    auto s = sink.lock();
    if (!s)
      return;
    std::lock_guard guard{s->mtx};
    if (s->rk == nullptr)
      return;
    // Never below what the group has or was given: a store behind the group's commit (the
    // batches after its last checkpoint changed nothing) must not move the commit back.
    auto [known, added] = s->stored.try_emplace({topic, partition}, next);
    if (!added && known->second > next)
      return;
    known->second = next;
    auto list = make_list(1);
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = next;
    rd_kafka_offsets_store(s->rk, list.get()); // fails harmlessly once revoked
  });
  caf::anon_send(supervisor_, watch_atom::value, p, ch.actor);
  return ch.actor;
}

void consumer_pump::ask_offsets(int32_t p, const caf::actor& actor,
                                std::map<std::pair<std::string, int32_t>, int64_t>& out) {
  (*self_)
    ->request(actor, std::chrono::seconds{30}, offsets_atom::value)
    .receive(
      [&](const offset_map& offsets) {
        for (const auto& [topic, offset] : offsets)
          out[{topic, p}] = offset;
      },
      [&](const caf::error& e) {
        log_->error("partition {} did not start: {}", p, sys_.render(e));
      });
}

void consumer_pump::resume_offsets(
  rd_kafka_topic_partition_list_t* parts,
  const std::map<std::pair<std::string, int32_t>, int64_t>& acked) {
  // Kafka's committed offsets; when the coordinator cannot answer, librdkafka asks again.
  auto committed = part_list{rd_kafka_topic_partition_list_copy(parts),
                             &rd_kafka_topic_partition_list_destroy};
  if (auto code = rd_kafka_committed(rk_, committed.get(), 10000); code != 0)
    log_->warn("committed offsets not available ({}); using the stores' offsets",
               rd_kafka_err2str(code));
  for (int i = 0; i < parts->cnt; ++i) {
    auto& e = parts->elems[i];
    int64_t from_kafka = committed->elems[i].err == 0 ? committed->elems[i].offset : -1;
    auto a = acked.find({e.topic, e.partition});
    int64_t from_store = a == acked.end() ? -1 : a->second + 1;
    // The furthest of the two: the store may be ahead when a commit failed (coordinator
    // away); Kafka may be ahead when another process held the partition meanwhile.
    int64_t start = std::max(from_kafka, from_store);
    e.offset = start >= 0 ? start : RD_KAFKA_OFFSET_INVALID;
    if (from_kafka >= 0) {
      std::lock_guard guard{sink_->mtx};
      sink_->stored.try_emplace({e.topic, e.partition}, from_kafka);
    }
  }
}

void consumer_pump::handle_supervisor_requests() {
  std::vector<int32_t> down, restart, failed;
  {
    std::lock_guard guard{requests_->mtx};
    down.swap(requests_->down);
    restart.swap(requests_->restart);
    failed.swap(requests_->failed);
  }
  {
    std::lock_guard guard{mtx_};
    for (auto p : down)
      if (auto i = partitions_.find(p); i != partitions_.end()) {
        i->second.down = true;
        pause(p, i->second, true);
      }
    for (auto p : failed)
      if (auto i = partitions_.find(p); i != partitions_.end())
        i->second.failed = true;
  }
  if (!failed.empty() && cfg_.restart.stop_process_on_failure) {
    log_->error("stopping: a partition failed and the restart policy says to stop");
    stop_requested_ = true;
  }
  for (auto p : restart)
    restart_partition(p);
}

void consumer_pump::restart_partition(int32_t p) {
  auto parts = make_list(1);
  caf::actor actor;
  {
    std::lock_guard guard{mtx_};
    auto i = partitions_.find(p);
    if (i == partitions_.end() || !i->second.down)
      return; // revoked meanwhile
    for (const auto& t : i->second.topics)
      rd_kafka_topic_partition_list_add(parts.get(), t.c_str(), p);
    actor = start_partition(p, i->second);
  }
  std::map<std::pair<std::string, int32_t>, int64_t> acked;
  ask_offsets(p, actor, acked);
  resume_offsets(parts.get(), acked);
  for (int i = 0; i < parts->cnt; ++i)
    if (parts->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
      parts->elems[i].offset =
        cfg_.from == start_from::earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  // Records fetched for the failed actor are gone with it: fetch again from what is durable.
  // The broker thread is not woken (wake_fetchers) here: it measurably delayed the restarted
  // partition's first fetch (145-155 instead of 105-115 ms in the supervision benchmark).
  if (auto* error = rd_kafka_seek_partitions(rk_, parts.get(), 10000)) {
    log_->error("partition {}: cannot seek: {}", p, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  std::string what;
  {
    std::lock_guard guard{mtx_};
    if (auto i = partitions_.find(p); i != partitions_.end()) {
      i->second.down = false;
      pause(p, i->second, false);
    }
  }
  for (int i = 0; i < parts->cnt; ++i)
    what += fmt::format(" {}/{}@{}", parts->elems[i].topic, p, parts->elems[i].offset);
  log_->info("restarted:{}", what);
}

void consumer_pump::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* pump = static_cast<consumer_pump*>(opaque);
  try {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      pump->assign(parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      pump->revoke(parts);
    } else {
      pump->log_->error("rebalance failed: {}", rd_kafka_err2str(err));
      rd_kafka_assign(rk, nullptr);
    }
  } catch (const std::exception& e) {
    pump->log_->error("rebalance: {}", e.what());
  }
}

void consumer_pump::assign(rd_kafka_topic_partition_list_t* parts) {
  assigned_once_ = true;
  // The coordinator just gave this member its generation.
  cfg_.lease->renew(std::chrono::steady_clock::now());
  if (auto g = group_generation(rk_); g > 0)
    cfg_.lease->set_generation(g);
  std::map<int32_t, std::vector<std::string>> by_partition;
  for (int i = 0; i < parts->cnt; ++i)
    by_partition[parts->elems[i].partition].push_back(parts->elems[i].topic);
  std::vector<int32_t> fresh;
  {
    std::lock_guard guard{mtx_};
    for (const auto& [p, topics] : by_partition)
      if (!partitions_.contains(p))
        fresh.push_back(p);
  }
  if (!fresh.empty())
    cfg_.on_assigned(fresh);
  // Start the partition actors; each answers what its store has acknowledged.
  std::vector<std::pair<int32_t, caf::actor>> started;
  for (auto& [p, topics] : by_partition) {
    std::lock_guard guard{mtx_};
    auto& ch = partitions_[p];
    if (!ch.actor)
      started.emplace_back(p, start_partition(p, ch));
    ch.topics.insert(ch.topics.end(), topics.begin(), topics.end());
  }
  std::map<std::pair<std::string, int32_t>, int64_t> acked;
  for (const auto& [p, actor] : started)
    ask_offsets(p, actor, acked);
  resume_offsets(parts, acked);
  // librdkafka 2.0.2 keeps a partition's pause (the application's, not its own) across
  // assignments: one revoked while paused — back-pressure, or its actor down — would never be
  // fetched again once assigned back, as its new channel starts unpaused.
  rd_kafka_resume_partitions(rk_, parts);
  change_assignment(parts, true);
  std::string what;
  for (int i = 0; i < parts->cnt; ++i)
    what += fmt::format(" {}/{}@{}", parts->elems[i].topic, parts->elems[i].partition,
                        parts->elems[i].offset);
  log_->info("assigned:{}", what);
}

void consumer_pump::change_assignment(rd_kafka_topic_partition_list_t* parts, bool add) {
  if (!cooperative()) {
    rd_kafka_assign(rk_, add ? parts : nullptr); // eager: the whole assignment at once
    return;
  }
  auto* error = add ? rd_kafka_incremental_assign(rk_, parts)
                    : rd_kafka_incremental_unassign(rk_, parts);
  if (error != nullptr) {
    log_->error("{}: {}", add ? "assign" : "unassign", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
}

void consumer_pump::revoke(rd_kafka_topic_partition_list_t* parts) {
  std::set<int32_t> revoked;
  for (int i = 0; i < parts->cnt; ++i)
    revoked.insert(parts->elems[i].partition);
  bool lost = rd_kafka_assignment_lost(rk_);
  if (lost)
    cfg_.lease->expire();
  // Drain all revoked partitions at once: each finishes its in-flight records.
  std::vector<std::pair<int32_t, caf::actor>> draining;
  {
    std::lock_guard guard{mtx_};
    for (auto p : revoked) {
      caf::anon_send(supervisor_, unwatch_atom::value, p);
      // A partition that is down has already saved its offsets.
      if (auto i = partitions_.find(p); i != partitions_.end() && !i->second.down)
        draining.emplace_back(p, i->second.actor);
    }
  }
  auto commits = make_list(parts->cnt);
  auto wait = cfg_.drain_timeout + std::chrono::seconds{10};
  for (auto& [p, actor] : draining) {
    (*self_)->monitor(actor);
    (*self_)
      ->request(actor, wait, drain_atom::value)
      .receive(
        [&](const offset_map& offsets) {
          for (const auto& [topic, offset] : offsets)
            if (offset >= 0)
              rd_kafka_topic_partition_list_add(commits.get(), topic.c_str(), p)->offset =
                offset + 1;
        },
        [&](const caf::error& e) {
          log_->error("partition {} did not drain: {}", p, sys_.render(e));
        });
  }
  if (commits->cnt > 0 && !lost) {
    if (auto code = rd_kafka_commit(rk_, commits.get(), 0); code != 0)
      log_->warn("commit on revocation failed ({}); the partitions' stores keep the offsets",
                 rd_kafka_err2str(code));
  }
  {
    std::lock_guard guard{sink_->mtx};
    for (int i = 0; i < parts->cnt; ++i)
      sink_->stored.erase({parts->elems[i].topic, parts->elems[i].partition});
  }
  {
    std::lock_guard guard{mtx_};
    for (auto p : revoked) {
      partitions_.erase(p);
      // A followed table's partition p (its figures labelled `table`) is not the group's.
      cfg_.figures->retire({{"partition", std::to_string(p)}}, "table");
    }
  }
  change_assignment(parts, false);
  // The drained actors quit after answering; once they are gone their stores are closed (a
  // hot standby opens them next). A partition whose actor is not gone is left out.
  std::set<caf::actor_addr> alive;
  for (const auto& [p, actor] : draining)
    alive.insert(actor.address());
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
       !alive.empty() && std::chrono::steady_clock::now() < deadline;)
    (*self_)->receive([&](const caf::down_msg& down) { alive.erase(down.source); },
                      caf::after(std::chrono::milliseconds{100}) >> [] {});
  std::vector<int32_t> released;
  for (auto p : revoked) {
    auto d = std::find_if(draining.begin(), draining.end(), [&](auto& e) { return e.first == p; });
    if (d == draining.end() || !alive.contains(d->second.address()))
      released.push_back(p);
    else
      log_->error("partition {}: its actor did not stop within 10 s of its drain", p);
  }
  cfg_.on_revoked(released);
  std::string what;
  for (int i = 0; i < parts->cnt; ++i)
    what += fmt::format(" {}/{}", parts->elems[i].topic, parts->elems[i].partition);
  log_->info("revoked{}:{}", lost ? " (lost)" : "", what);
}

} // namespace partita
