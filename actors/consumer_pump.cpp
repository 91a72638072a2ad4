#include "actors/consumer_pump.hpp"

#include "actors/partition_supervisor.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <random>

namespace partita {

namespace {

void on_consumer_error(rd_kafka_t*, int err, const char* reason, void*) {
  logger("consumer")->warn("{} ({})", reason,
                           rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

/// A commit sent to renew the lease: when it was sent.
struct lease_request {
  std::weak_ptr<member_lease> lease;
  std::chrono::steady_clock::time_point sent;
};

void on_lease_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  std::unique_ptr<lease_request> request{static_cast<lease_request*>(opaque)};
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i)
    if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return;
  // The coordinator accepted a commit of this member's generation: it will not hand the
  // member's partitions away for a session timeout after it answered.
  if (auto lease = request->lease.lock())
    lease->renew(request->sent);
}

/// Records in one call of the pump from which it lets its batches fill (see run()).
constexpr ssize_t heavy_batch = 1000;

} // namespace

kafka_properties consumer_defaults(const std::string& group, start_from from,
                                   bool co_partitioned) {
  return {
    {"group.id", group},
    // Offsets are stored only once acknowledged (by the partition actors) and committed from
    // there: librdkafka never commits what it merely fetched.
    {"enable.auto.commit", "true"},
    {"enable.auto.offset.store", "false"},
    {"auto.commit.interval.ms", "1000"},
    {"auto.offset.reset", from == start_from::earliest ? "earliest" : "latest"},
    // Co-partitioned inputs need the range assignor (equal partition numbers go together);
    // a single input uses cooperative-sticky, so a rebalance moves only what it must.
    {"partition.assignment.strategy", co_partitioned ? "range" : "cooperative-sticky"},
    {"fetch.wait.max.ms", "100"},
    {"fetch.error.backoff.ms", "100"},
    // librdkafka 2.0 compares this per-partition threshold with the length of the whole
    // consumer queue (every partition's fetch queue forwards into it), and a partition that
    // finds it exceeded is not fetched again until its broker thread next wakes, up to a
    // second later. At 100,000, a consumer of 8 partitions that fell 100k records behind
    // stalled ~0.5 s at a time (0.2 instead of 1.6-1.9 M records/s in the throughput
    // benchmark). Memory stays bounded by queued.max.messages.kbytes (64 MiB for the whole
    // queue, checked the same way: records larger than ~64 bytes reach it first, and a user
    // with large records should raise it) and by the pump's pausing.
    {"queued.min.messages", "1000000"},
    {"log_level", "3"},
  };
}

consumer_pump::consumer_pump(caf::actor_system& sys, pump_config cfg, partition_spawner spawn)
  : sys_(sys), cfg_(std::move(cfg)), spawn_(std::move(spawn)), log_(logger("consumer")) {
  const auto& graph = *cfg_.graph;
  auto defaults =
    consumer_defaults(graph.group, cfg_.from, /*co_partitioned=*/graph.inputs.size() > 1);
  rd_kafka_conf_t* conf = make_kafka_conf(defaults, cfg_.kafka);
  rd_kafka_conf_set_rebalance_cb(conf, &consumer_pump::on_rebalance);
  rd_kafka_conf_set_error_cb(conf, &on_consumer_error);
  rd_kafka_conf_set_opaque(conf, this);
  char strategy[512];
  size_t strategy_size = sizeof strategy;
  if (rd_kafka_conf_get(conf, "partition.assignment.strategy", strategy, &strategy_size) ==
      RD_KAFKA_CONF_OK)
    sticky_ = std::string_view{strategy}.find("sticky") != std::string_view::npos;
  rk_ = new_client(RD_KAFKA_CONSUMER, conf, "the Kafka consumer");
  rd_kafka_poll_set_consumer(rk_);
  lease_queue_ = rd_kafka_queue_new(rk_);
  sink_->rk = rk_;
  supervisor_config sc;
  sc.group = graph.group;
  sc.policy = cfg_.restart;
  sc.figures = cfg_.figures;
  std::weak_ptr<supervisor_requests> requests = requests_;
  auto push = [requests](std::vector<int32_t> supervisor_requests::*list, int32_t p) {
    if (auto r = requests.lock()) {
      std::lock_guard guard{r->mtx};
      ((*r).*list).push_back(p);
    }
  };
  sc.on_down = [push](int32_t p) { push(&supervisor_requests::down, p); };
  sc.restart = [push](int32_t p) { push(&supervisor_requests::restart, p); };
  sc.on_failed = [push](int32_t p, const std::string&) { push(&supervisor_requests::failed, p); };
  sc.random = [rng = std::make_shared<std::mt19937_64>(std::random_device{}())] {
    return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
  };
  supervisor_ = sys_.spawn(partition_supervisor, std::move(sc));
}

consumer_pump::~consumer_pump() {
  caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
  {
    std::lock_guard guard{sink_->mtx};
    sink_->rk = nullptr;
  }
  rd_kafka_queue_destroy(lease_queue_);
  if (sticky_ && subscribed_ && !assigned_once_) {
    // Destroying it would abort the process (librdkafka #4312); it is closed and idle.
    log_->warn("the consumer of group {} left before its first assignment: its closed handle "
               "is kept, not destroyed, because librdkafka 2.0.2 aborts destroying it "
               "(librdkafka #4312, fixed in 2.3.0)", cfg_.graph->group);
    rd_kafka_set_log_level(rk_, 0);
    return;
  }
  rd_kafka_destroy(rk_);
}

consumer_pump::part_list consumer_pump::make_list(int size) {
  return part_list{rd_kafka_topic_partition_list_new(size),
                   &rd_kafka_topic_partition_list_destroy};
}

bool consumer_pump::cooperative() const {
  return std::string_view{rd_kafka_rebalance_protocol(rk_)} == "COOPERATIVE";
}

std::optional<caf::actor> consumer_pump::actor_for(int32_t p) const {
  std::lock_guard guard{mtx_};
  auto i = partitions_.find(p);
  if (i == partitions_.end())
    return std::nullopt;
  return i->second.actor;
}

std::size_t consumer_pump::partitions() const {
  std::lock_guard guard{mtx_};
  return partitions_.size();
}

std::size_t consumer_pump::failed() const {
  std::lock_guard guard{mtx_};
  return static_cast<std::size_t>(std::count_if(partitions_.begin(), partitions_.end(),
                                                [](const auto& kv) { return kv.second.failed; }));
}

void consumer_pump::dispatch(rd_kafka_message_t** msgs, size_t n) {
  std::map<std::pair<std::string_view, int32_t>, record_batch_ptr> batches;
  for (size_t i = 0; i < n; ++i) {
    auto* m = msgs[i];
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log_->warn("consume: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    std::string_view topic = rd_kafka_topic_name(m->rkt);
    auto& batch = batches[{topic, m->partition}];
    if (!batch) {
      batch = std::make_shared<record_batch>();
      batch->topic = topic;
      batch->partition = m->partition;
    }
    batch->records.push_back(m);
  }
  std::lock_guard guard{mtx_};
  for (auto& [where, batch] : batches) {
    auto i = partitions_.find(where.second);
    if (i == partitions_.end()) {
      log_->warn("dropping {} fetched records of {}/{}, no longer assigned",
                 batch->records.size(), where.first, where.second);
      continue;
    }
    i->second.flow->in_flight += static_cast<int64_t>(batch->records.size());
    auto found = consumed_.find(where.first);
    if (found == consumed_.end())
      found = consumed_.emplace(std::string{where.first}, &cfg_.figures->counter("partita_records_consumed_total",
                                        "Records fetched from Kafka and handed to partition "
                                        "actors, by topic.",
                                        {{"topic", std::string{where.first}}})).first;
    *found->second += static_cast<int64_t>(batch->records.size());
    caf::anon_send(i->second.actor, batch_atom::value, std::move(batch));
  }
}

void consumer_pump::pause(int32_t p, channel& ch, bool paused) {
  auto list = make_list(static_cast<int>(ch.topics.size()));
  for (const auto& t : ch.topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p);
  if (paused)
    rd_kafka_pause_partitions(rk_, list.get());
  else
    rd_kafka_resume_partitions(rk_, list.get());
  ch.paused = paused;
}

void consumer_pump::apply_back_pressure() {
  auto max = static_cast<int64_t>(cfg_.max_in_flight);
  auto resumed = make_list(0);
  {
    std::lock_guard guard{mtx_};
    for (auto& [p, ch] : partitions_) {
      auto queued = ch.flow->in_flight.load();
      if (ch.down)
        continue; // stays paused until restarted
      if (!ch.paused && queued >= max) {
        pause(p, ch, true);
      } else if (ch.paused && queued <= max / 2) {
        pause(p, ch, false);
        for (const auto& t : ch.topics)
          rd_kafka_topic_partition_list_add(resumed.get(), t.c_str(), p);
      }
    }
  }
  if (resumed->cnt > 0)
    wake_fetchers(rk_, resumed.get());
}

void consumer_pump::update_lag() {
  std::lock_guard guard{mtx_};
  auto list = make_list(static_cast<int>(partitions_.size()));
  for (const auto& [p, ch] : partitions_)
    for (const auto& t : ch.topics)
      rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p);
  if (rd_kafka_position(rk_, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    int64_t lo = 0;
    int64_t hi = -1;
    if (tp.offset < 0 ||
        rd_kafka_get_watermark_offsets(rk_, tp.topic, tp.partition, &lo, &hi) != 0 || hi < 0)
      continue; // not fetched yet
    auto ch = partitions_.find(tp.partition);
    auto queued = ch->second.topics.size() == 1 ? ch->second.flow->in_flight.load() : 0;
    cfg_.figures->gauge("partita_consumer_lag_records",
                        "Records of each input partition not yet processed: not fetched yet, "
                        "or fetched and queued for its actor.",
                        {{"partition", std::to_string(tp.partition)}, {"topic", tp.topic}}) =
      std::max<int64_t>(0, hi - tp.offset) + queued;
  }
}

void consumer_pump::renew_lease() {
  part_list list = make_list(0);
  {
    std::lock_guard guard{sink_->mtx};
    for (const auto& [where, next] : sink_->stored)
      rd_kafka_topic_partition_list_add(list.get(), where.first.c_str(), where.second)->offset =
        next;
  }
  auto now = std::chrono::steady_clock::now();
  if (list->cnt == 0) {
    // Nothing was ever committed for these partitions: no commit can confirm the member.
    // Only the changelog's owner epochs fence it then (docs/handover.md).
    if (partitions() > 0)
      cfg_.lease->renew(now);
    return;
  }
  auto* request = new lease_request{cfg_.lease, now};
  if (auto code = rd_kafka_commit_queue(rk_, list.get(), lease_queue_, &on_lease_commit, request);
      code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delete request;
    log_->debug("lease commit not sent: {}", rd_kafka_err2str(code));
  }
}

void consumer_pump::run(const std::atomic<bool>& stop) {
  self_ = std::make_unique<caf::scoped_actor>(sys_);
  auto topics = cfg_.graph->input_topics();
  auto subscription = make_list(static_cast<int>(topics.size()));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(subscription.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  check(rd_kafka_subscribe(rk_, subscription.get()), "subscribe");
  subscribed_ = true;
  log_->info("group {} subscribed to {}", cfg_.graph->group, fmt::join(topics, ", "));
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk_);
  std::vector<rd_kafka_message_t*> msgs(10000);
  auto next_lag = std::chrono::steady_clock::now();
  auto next_renewal = next_lag;
  // With a sticky assignor, a member asked to stop before its first assignment waits for it
  // a little (see sticky_).
  std::optional<std::chrono::steady_clock::time_point> leave_by;
  auto stopping = [&] {
    if (!stop && !stop_requested_)
      return false;
    if (!sticky_ || assigned_once_)
      return true;
    auto now = std::chrono::steady_clock::now();
    if (!leave_by)
      leave_by = now + std::chrono::seconds{3};
    return now >= *leave_by;
  };
  bool heavy = false; // the last call brought a large batch
  while (!stopping()) {
    // Under light load a record goes on as soon as it arrives: what has come at once, else the
    // first to come. Under heavy load the call waits up to 10 ms for its batch to fill, so that
    // batches grow with the load and fold more updates of a key into one changelog record.
    ssize_t n = 0;
    if (heavy) {
      n = rd_kafka_consume_batch_queue(queue, 10, msgs.data(), msgs.size());
    } else {
      n = rd_kafka_consume_batch_queue(queue, 0, msgs.data(), msgs.size());
      if (n == 0)
        n = rd_kafka_consume_batch_queue(queue, 10, msgs.data(), 1);
    }
    heavy = n >= heavy_batch;
    if (n > 0)
      dispatch(msgs.data(), static_cast<size_t>(n));
    handle_supervisor_requests();
    apply_back_pressure();
    rd_kafka_queue_poll_callback(lease_queue_, 0);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_renewal) {
      renew_lease();
      next_renewal = now + cfg_.lease->duration() / 4;
    }
    if (now >= next_lag) {
      update_lag();
      next_lag = now + std::chrono::seconds{1};
    }
  }
  rd_kafka_queue_destroy(queue);
  // Revokes (drains and commits) every partition, then leaves the group.
  log_->info("leaving group {}", cfg_.graph->group);
  if (auto code = rd_kafka_consumer_close(rk_); code != 0)
    log_->warn("consumer close: {}", rd_kafka_err2str(code));
  self_.reset();
}

} // namespace partita
