#include "actors/table_follower.hpp"

#include "actors/partition_figures.hpp"
#include "actors/partition_supervisor.hpp"
#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace partita {

namespace {

using part_list = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                  decltype(&rd_kafka_topic_partition_list_destroy)>;

part_list make_list(const std::string& topic, const std::vector<int32_t>& partitions,
                    int64_t offset = RD_KAFKA_OFFSET_INVALID) {
  part_list list{rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
                 &rd_kafka_topic_partition_list_destroy};
  for (auto p : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  return list;
}

} // namespace

table_follower::table_follower(caf::actor_system& sys, follower_config cfg)
  : sys_(sys), cfg_(std::move(cfg)), log_(logger("table")) {
  rd_kafka_conf_t* conf = make_kafka_conf(
    {{"auto.offset.reset", "earliest"},
     // The end of a partition (which ends recovery) is known from an empty fetch, which the
     // broker holds up to this long: 100 ms made a join's recovery 0.2 s instead of 0.1.
     // Idle, it costs a fetch per broker every 10 ms.
     {"fetch.wait.max.ms", "10"},
     {"fetch.error.backoff.ms", "100"},
     {"queued.min.messages", "200000"},
     {"log_level", "3"}},
    cfg_.kafka,
    // No group is joined and nothing committed: the store's position is where it resumes.
    overridden(groupless_consumer("partita-table-follower"), {{"enable.partition.eof", "true"}}));
  rd_kafka_conf_set_error_cb(conf, &table_follower::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = new_client(RD_KAFKA_CONSUMER, conf, "the consumer of table " + cfg_.topic);
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);
  supervisor_config sc;
  sc.group = cfg_.owner;
  sc.policy = cfg_.restart;
  sc.figures = cfg_.figures;
  sc.labels = {{"table", cfg_.topic}};
  sc.topics = {cfg_.topic};
  std::weak_ptr<request_queue> queue = requests_;
  auto later = [queue](request::kind_t kind, int32_t p) {
    if (auto q = queue.lock())
      push(*q, std::make_shared<request>(request{kind, {p}}));
  };
  sc.on_down = [later](int32_t p) { later(request::down, p); };
  sc.restart = [later](int32_t p) { later(request::restart, p); };
  sc.on_failed = [](int32_t, const std::string&) {}; // it stays down; the supervisor logs it
  sc.random = [rng = std::make_shared<std::mt19937_64>(std::random_device{}())] {
    return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
  };
  supervisor_ = sys_.spawn(partition_supervisor, std::move(sc));
  thread_ = std::thread{[this] { run(); }};
}

table_follower::~table_follower() {
  stop_ = true;
  thread_.join();
  caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
  rd_kafka_queue_destroy(queue_);
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void table_follower::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<table_follower*>(opaque);
  self->log_->warn("table {}: {} ({})", self->cfg_.topic, reason,
                   rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

void table_follower::follow(const std::vector<int32_t>& partitions) {
  ask(request::follow, partitions, true);
}

void table_follower::release(const std::vector<int32_t>& partitions) {
  ask(request::release, partitions, true);
}

void table_follower::push(request_queue& q, std::shared_ptr<request> r) {
  std::lock_guard guard{q.mtx};
  if (q.closed)
    r->done = true;
  else
    q.items.push_back(std::move(r));
}

void table_follower::ask(request::kind_t kind, std::vector<int32_t> partitions, bool wait) {
  auto r = std::make_shared<request>(request{kind, std::move(partitions)});
  push(*requests_, r);
  if (!wait)
    return;
  std::unique_lock guard{requests_->mtx};
  requests_->served.wait(guard, [&] { return r->done; });
}

std::shared_ptr<table_partition_handle> table_follower::partition(int32_t p) const {
  std::lock_guard guard{mtx_};
  auto i = parts_.find(p);
  return i == parts_.end() ? nullptr : i->second.handle;
}

std::vector<int32_t> table_follower::partitions() const {
  std::lock_guard guard{mtx_};
  std::vector<int32_t> out;
  for (const auto& [p, pt] : parts_)
    out.push_back(p);
  return out;
}

bool table_follower::recovered() const {
  std::lock_guard guard{mtx_};
  return std::all_of(parts_.begin(), parts_.end(),
                     [](const auto& kv) { return kv.second.handle->recovered.load(); });
}

void table_follower::serve_requests() {
  std::vector<std::shared_ptr<request>> todo;
  {
    std::lock_guard guard{requests_->mtx};
    todo.swap(requests_->items);
  }
  for (auto& r : todo) {
    for (auto p : r->partitions) {
      switch (r->kind) {
        case request::follow:
          start(p);
          break;
        case request::release:
          stop(p);
          break;
        case request::down:
          if (auto i = parts_.find(p); i != parts_.end()) {
            i->second.down = true;
            pause(p, i->second, true); // nothing is skipped: the restart seeks back
          }
          break;
        case request::restart:
          restart(p);
          break;
      }
    }
    std::lock_guard guard{requests_->mtx};
    r->done = true;
  }
  if (!todo.empty())
    requests_->served.notify_all();
}

int64_t table_follower::spawn_actor(int32_t p, part& pt) {
  table_partition_config tc;
  tc.topic = cfg_.topic;
  tc.partition = p;
  if (!pt.store) {
    try {
      auto store = std::make_shared<partition_store>(store_config{
        partition_store::path_for(cfg_.state_dir, cfg_.owner, cfg_.topic, p),
        std::size_t{64} << 20, cfg_.fsync});
      pt.store = std::move(store);
      pt.handle->set_store(pt.store);
    } catch (const std::exception& e) {
      tc.store_error = e.what(); // the actor fails with it, and is restarted with backoff
    }
  }
  tc.store = pt.store;
  tc.standby_inputs = cfg_.inputs;
  tc.handle = pt.handle;
  pt.flow = std::make_shared<partition_flow>();
  tc.flow = pt.flow;
  tc.figures = cfg_.figures;
  pt.actor = sys_.spawn(table_partition, std::move(tc));
  caf::anon_send(supervisor_, watch_atom::value, p, pt.actor);
  int64_t from = RD_KAFKA_OFFSET_BEGINNING;
  (*self_)
    ->request(pt.actor, std::chrono::seconds{30}, offsets_atom::value)
    .receive([&](int64_t position) { from = position; },
             [&](const caf::error& e) {
               log_->error("table {}/{} did not start: {}", cfg_.topic, p, sys_.render(e));
             });
  return from;
}

void table_follower::start(int32_t p) {
  if (parts_.contains(p))
    return;
  part pt;
  auto from = spawn_actor(p, pt);
  {
    std::lock_guard guard{mtx_};
    parts_.emplace(p, std::move(pt));
  }
  auto list = make_list(cfg_.topic, {p}, from);
  if (auto* error = rd_kafka_incremental_assign(rk_, list.get())) {
    log_->error("table {}/{}: cannot assign: {}", cfg_.topic, p, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  // A partition's pause survives its unassignment in librdkafka: one paused when it was last
  // released would never be fetched again.
  rd_kafka_resume_partitions(rk_, list.get());
  wake_fetchers(rk_, list.get());
  log_->info("table {}/{}: following from offset {}", cfg_.topic, p, from);
}

void table_follower::stop(int32_t p) {
  auto i = parts_.find(p);
  if (i == parts_.end())
    return;
  auto list = make_list(cfg_.topic, {p});
  if (auto* error = rd_kafka_incremental_unassign(rk_, list.get())) {
    log_->warn("table {}/{}: cannot unassign: {}", cfg_.topic, p, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  auto pt = std::move(i->second);
  {
    std::lock_guard guard{mtx_};
    parts_.erase(i);
  }
  caf::anon_send(supervisor_, unwatch_atom::value, p);
  pt.handle->set_store(nullptr);
  if (pt.actor) {
    (*self_)->monitor(pt.actor);
    caf::anon_send_exit(pt.actor, caf::exit_reason::user_shutdown);
    for (bool gone = false; !gone;)
      (*self_)->receive(
        [&](const caf::down_msg& down) { gone = down.source == pt.actor.address(); },
        caf::after(std::chrono::seconds{30}) >> [&] {
          log_->error("table {}/{}: its actor did not stop within 30 s", cfg_.topic, p);
          gone = true;
        });
  }
  // Readers may still hold the store for a moment; LMDB must not have it open twice.
  for (int i = 0; pt.store && pt.store.use_count() > 1 && i < 10000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (pt.store && pt.store.use_count() > 1)
    log_->error("table {}/{}: its store is still in use 10 s after it was released",
                cfg_.topic, p);
  cfg_.figures->retire(partition_labels(p, {{"table", cfg_.topic}}));
}

void table_follower::restart(int32_t p) {
  auto i = parts_.find(p);
  if (i == parts_.end() || !i->second.down)
    return; // released meanwhile
  auto& pt = i->second;
  auto from = spawn_actor(p, pt);
  // Records fetched for the failed actor are gone with it: fetch again from its store.
  auto list = make_list(cfg_.topic, {p}, from);
  if (auto* error = rd_kafka_seek_partitions(rk_, list.get(), 10000)) {
    log_->error("table {}/{}: cannot seek: {}", cfg_.topic, p, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  pt.down = false;
  pause(p, pt, false);
  log_->info("table {}/{}: restarted at offset {}", cfg_.topic, p, from);
}

void table_follower::pause(int32_t p, part& pt, bool paused) {
  auto list = make_list(cfg_.topic, {p});
  if (paused)
    rd_kafka_pause_partitions(rk_, list.get());
  else
    rd_kafka_resume_partitions(rk_, list.get());
  pt.paused = paused;
}

void table_follower::dispatch(rd_kafka_message_t** msgs, size_t n) {
  std::map<int32_t, record_batch_ptr> batches;
  auto send = [&](int32_t p) {
    auto b = batches.find(p);
    if (b == batches.end())
      return;
    if (auto i = parts_.find(p); i != parts_.end() && !i->second.down) {
      i->second.flow->in_flight += static_cast<int64_t>(b->second->records.size());
      caf::anon_send(i->second.actor, batch_atom::value, std::move(b->second));
    }
    batches.erase(b);
  };
  for (size_t k = 0; k < n; ++k) {
    auto* m = msgs[k];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      send(m->partition); // the records before the end go first
      if (auto i = parts_.find(m->partition); i != parts_.end() && !i->second.down)
        caf::anon_send(i->second.actor, eof_atom::value, static_cast<int64_t>(m->offset));
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) {
      log_->warn("table {}: {}", cfg_.topic, rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    auto& batch = batches[m->partition];
    if (!batch) {
      batch = std::make_shared<record_batch>();
      batch->topic = cfg_.topic;
      batch->partition = m->partition;
    }
    batch->records.push_back(m);
  }
  while (!batches.empty())
    send(batches.begin()->first);
}

void table_follower::apply_back_pressure() {
  auto max = static_cast<int64_t>(cfg_.max_in_flight);
  std::vector<int32_t> resumed;
  for (auto& [p, pt] : parts_) {
    if (pt.down)
      continue; // stays paused until restarted
    auto queued = pt.flow->in_flight.load();
    if (!pt.paused && queued >= max) {
      pause(p, pt, true);
    } else if (pt.paused && queued <= max / 2) {
      pause(p, pt, false);
      resumed.push_back(p);
    }
  }
  if (!resumed.empty())
    wake_fetchers(rk_, make_list(cfg_.topic, resumed).get());
}

void table_follower::update_ends() {
  for (auto& [p, pt] : parts_) {
    int64_t lo = 0;
    int64_t hi = -1;
    if (rd_kafka_get_watermark_offsets(rk_, cfg_.topic.c_str(), p, &lo, &hi) != 0 || hi < 0)
      continue; // not fetched yet
    pt.handle->end = hi;
    cfg_.figures->gauge("partita_table_lag_records",
                        "Records of each followed table partition not yet read, as of its end "
                        "when last seen.",
                        partition_labels(p, {{"table", cfg_.topic}})) =
      std::max<int64_t>(0, hi - pt.handle->position);
  }
}

void table_follower::run() {
  self_ = std::make_unique<caf::scoped_actor>(sys_);
  std::vector<rd_kafka_message_t*> msgs(10000);
  auto next_ends = std::chrono::steady_clock::now();
  while (!stop_) {
    serve_requests();
    auto n = rd_kafka_consume_batch_queue(queue_, 50, msgs.data(), msgs.size());
    if (n > 0)
      dispatch(msgs.data(), static_cast<size_t>(n));
    apply_back_pressure();
    if (auto now = std::chrono::steady_clock::now(); now >= next_ends) {
      update_ends();
      next_ends = now + std::chrono::seconds{1};
    }
  }
  {
    std::lock_guard guard{requests_->mtx};
    requests_->closed = true;
    for (auto& r : requests_->items)
      r->done = true; // nothing more is followed
    requests_->items.clear();
  }
  requests_->served.notify_all();
  std::vector<int32_t> all;
  for (const auto& [p, pt] : parts_)
    all.push_back(p);
  for (auto p : all)
    stop(p);
  self_.reset();
  // A scoped_actor leaves CAF's logger in this thread's storage (see processor::get).
  caf::logger::set_current_actor_system(nullptr);
}

} // namespace partita
