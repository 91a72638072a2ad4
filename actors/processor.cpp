// The processor facade (runtime/processor.hpp), run by the engine of this folder.

#include "runtime/processor.hpp"

#include "actors/broker_monitor.hpp"
#include "actors/consumer_pump.hpp"
#include "actors/group_tables.hpp"
#include "actors/partition_actor.hpp"
#include "actors/visit_client.hpp"
#include "persistence/state_dir_lock.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/logger.hpp"
#include "runtime/topic_admin.hpp"

#include <caf/all.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace partita {

struct processor::impl {
  processor_config cfg;
  kafka_properties kafka; // cfg.kafka, with cfg.brokers as the bootstrap servers
  std::shared_ptr<const graph_definition> graph;
  std::atomic<bool> stop{false};
  std::shared_ptr<std::atomic<uint64_t>> records = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<int64_t>> ready = std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<int32_t> partition_count{0};
  std::shared_ptr<partita::metrics> figures = std::make_shared<partita::metrics>();

  mutable std::mutex mtx; // guards sys and pump for readers on other threads
  // CAF 0.17's actor_system keeps a reference to its config (error renderers, ...): the config
  // lives as long as the system, and is declared first so that it goes last.
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  consumer_pump* pump = nullptr;
};

processor::processor(processor_config cfg, graph_definition graph)
  : impl_(std::make_unique<impl>()) {
  graph.validate();
  if (cfg.brokers.empty() && !cfg.kafka.contains("bootstrap.servers"))
    throw config_error("no brokers: set the bootstrap servers (--brokers host:port,...)");
  if (cfg.max_in_flight < 1)
    throw config_error("max_in_flight must be at least 1");
  impl_->cfg = std::move(cfg);
  impl_->kafka = impl_->cfg.kafka;
  if (!impl_->cfg.brokers.empty())
    impl_->kafka["bootstrap.servers"] = impl_->cfg.brokers;
  impl_->graph = std::make_shared<const graph_definition>(std::move(graph));
}

processor::~processor() = default;

void processor::stop() {
  impl_->stop = true;
}

bool processor::running() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->pump != nullptr;
}

const std::string& processor::group() const {
  return impl_->graph->group;
}

bool processor::has_table() const {
  return impl_->graph->persist;
}

const metrics& processor::metrics() const {
  return *impl_->figures;
}

processor_stats processor::stats() const {
  processor_stats out;
  out.records = *impl_->records;
  out.ready = static_cast<std::size_t>(std::max<int64_t>(0, *impl_->ready));
  std::lock_guard guard{impl_->mtx};
  out.partitions = impl_->pump ? impl_->pump->partitions() : 0;
  out.failed = impl_->pump ? impl_->pump->failed() : 0;
  return out;
}

namespace {

/// Asks the partition actor of `key` (if this process holds its partition) `what` about it;
/// its answer, or nothing.
template <class... Ts>
std::vector<std::string> ask_partition(caf::actor_system& sys, consumer_pump& pump,
                                       int32_t partitions, const std::string& key, Ts... what) {
  auto actor = pump.actor_for(key_partition(key, partitions));
  if (!actor)
    return {};
  std::vector<std::string> out;
  {
    caf::scoped_actor self{sys};
    self->request(*actor, std::chrono::seconds{10}, what..., key)
      .receive([&](std::vector<std::string>& value) { out = std::move(value); },
               [](const caf::error&) {});
  }
  // A scoped_actor leaves CAF's logger in this thread's storage, and the actor system's
  // destructor waits for the logger: without this, stopping the processor deadlocks.
  caf::logger::set_current_actor_system(nullptr);
  return out;
}

} // namespace

std::optional<std::string> processor::get(const std::string& key) const {
  std::lock_guard guard{impl_->mtx};
  if (!impl_->pump || impl_->partition_count <= 0)
    return std::nullopt;
  auto value = ask_partition(*impl_->sys, *impl_->pump, impl_->partition_count, key,
                             get_atom::value);
  if (value.empty())
    return std::nullopt;
  return std::move(value.front());
}

const std::string* processor::windowed_table() const {
  return impl_->graph->window ? &impl_->graph->window->name : nullptr;
}

std::vector<window_entry> processor::windows(const std::string& key) const {
  std::lock_guard guard{impl_->mtx};
  if (!impl_->graph->window || !impl_->pump || impl_->partition_count <= 0)
    return {};
  auto flat = ask_partition(*impl_->sys, *impl_->pump, impl_->partition_count, key,
                            get_atom::value, windows_atom::value);
  std::vector<window_entry> out;
  for (std::size_t i = 0; i + 3 < flat.size(); i += 4)
    out.push_back({{std::stoll(flat[i]), std::stoll(flat[i + 1])}, std::move(flat[i + 3]),
                   flat[i + 2] == "closed"});
  return out;
}

const erased_codec& processor::visitor_codec(const std::string& name) const {
  const auto& graph = *impl_->graph;
  if (const auto* v = graph.visitor(name))
    return v->codec;
  std::string known;
  for (const auto& v : graph.visitors)
    known += (known.empty() ? "" : ", ") + v.name;
  throw graph_error("group '" + graph.group + "' has no visitor '" + name.substr(0, 200) + "'" +
                    (known.empty() ? std::string{"; declare one with graph.visitor"}
                                   : "; its visitors: " + known));
}

visit_result processor::visit_all_encoded(
  const std::string& name, std::string value, std::chrono::milliseconds timeout,
  const std::function<void(const visit_status&)>& on_progress,
  const std::atomic<bool>* cancel) const {
  visitor_codec(name).check(value); // before any partition meets it
  return run_visit(impl_->kafka, *impl_->graph, name, std::move(value), timeout, on_progress,
                   [&] { return impl_->stop || (cancel != nullptr && *cancel); });
}

bool processor::responsive(std::chrono::milliseconds timeout) const {
  std::lock_guard guard{impl_->mtx};
  if (!impl_->pump)
    return false;
  bool answered = false;
  {
    caf::scoped_actor self{*impl_->sys};
    self->request(impl_->pump->supervisor(), timeout, ping_atom::value)
      .receive([&](ping_atom) { answered = true; }, [](const caf::error&) {});
  }
  caf::logger::set_current_actor_system(nullptr); // see get()
  return answered;
}

void processor::run() {
  auto& d = *impl_;
  auto log = logger("processor");
  const auto& graph = *d.graph;
  std::optional<state_dir_lock> lock;
  try {
    lock.emplace(d.cfg.state_dir / graph.group);
  } catch (const store_error& e) {
    throw config_error(e.what());
  }
  const auto& kafka = d.kafka;

  topic_requirements need;
  need.copartitioned = graph.input_topics();
  if (graph.persist) {
    need.copartitioned.push_back(graph.table_topic());
    need.compacted.push_back(graph.table_topic());
  }
  for (auto s : production_order)
    if (keeps(graph, s)) {
      need.copartitioned.push_back(side_topic(graph, s));
      need.compacted.push_back(side_topic(graph, s));
    }
  for (const auto& out : graph.outputs)
    if (std::find(need.copartitioned.begin(), need.copartitioned.end(), out.topic) ==
        need.copartitioned.end())
      need.other.push_back(out.topic);
  if (d.cfg.on_poison == poison_policy::dead_letter)
    need.other.push_back(graph.dead_letter_topic());
  need.default_partitions = d.cfg.default_partitions;
  d.partition_count = ensure_topics(kafka, need, d.cfg.cluster, d.cfg.startup_timeout);
  log->info("group {}: {} partitions, state in {}", graph.group, d.partition_count.load(),
            d.cfg.state_dir.string());
  std::map<std::string, int> table_partitions;
  if (!graph.tables.empty()) {
    auto counts = partition_counts(kafka, d.cfg.startup_timeout);
    for (const auto& t : graph.tables) {
      auto i = counts.find(t.topic);
      if (i == counts.end())
        throw config_error(std::string{t.kind_name()} + " table '" + t.topic + "' of group " +
                           graph.group + " does not exist; start the group that writes it "
                           "first, or create the topic (compacted)");
      if (t.kind == table_definition::kind_t::join && i->second != d.partition_count)
        throw config_error("join table '" + t.topic + "' is not co-partitioned with the inputs "
                           "of group " + graph.group + " (partition counts: " + t.topic + "=" +
                           std::to_string(i->second) + " " + graph.input_topics().front() +
                           "=" + std::to_string(d.partition_count.load()) +
                           "); read it with graph.lookup, or repartition it");
      table_partitions[t.topic] = i->second;
    }
  }

  auto producer = std::make_shared<kafka_producer>(kafka);
  // One changelog reader for every recovery of this member's partitions, connected now.
  std::shared_ptr<changelog_reader> reader;
  if (graph.persist || keeps(graph, side::timers) || keeps(graph, side::windows))
    reader = std::make_shared<changelog_reader>(kafka);
  {
    std::lock_guard guard{d.mtx};
    d.sys_cfg = std::make_unique<caf::actor_system_config>();
    // CAF's work-stealing workers poll their queues for a while before they sleep; on a small
    // machine that polling competes with librdkafka's threads for the cores. In the latency
    // benchmark, p99 at half load was 1.9-4.1x the hand-written baseline's with work stealing
    // and 0.7-1.7x with the sharing scheduler's blocking queue (throughput alike).
    d.sys_cfg->set("scheduler.policy", caf::atom("sharing"));
    d.sys_cfg->add_error_category(caf::atom("partita"),
                               [](uint8_t code, caf::atom_value, const caf::message& context) {
                                 auto what = context.match_element<std::string>(0)
                                               ? context.get_as<std::string>(0)
                                               : std::string{};
                                 return std::string{static_cast<errc>(code) ==
                                                        errc::partition_stopped
                                                      ? "stopped: "
                                                      : "failed: "} +
                                        what;
                               });
    d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
  }
  auto consumer = overridden(kafka, d.cfg.consumer);
  // librdkafka's mock answers a fetch it has no records for only after fetch.wait.max.ms, even
  // when records arrive meanwhile (a real broker answers as soon as they do): on the embedded
  // cluster the wait is every record's latency (10 ms gave p50 10-12 ms at 2,000 records/s,
  // 1 ms gives 4-5 ms).
  if (!consumer.contains("fetch.wait.max.ms") &&
      is_mock_cluster(producer->handle(), d.cfg.startup_timeout))
    consumer["fetch.wait.max.ms"] = "1";
  // A member stops writing for its partitions half a session timeout after the coordinator
  // last confirmed it: well before the group may give them to another member.
  auto session = consumer.contains("session.timeout.ms")
                   ? std::chrono::milliseconds{std::stoll(consumer.at("session.timeout.ms"))}
                   : std::chrono::milliseconds{45000};
  auto lease = std::make_shared<member_lease>(session / 2);
  follower_config follow;
  follow.kafka = kafka;
  follow.state_dir = d.cfg.state_dir;
  follow.owner = graph.group;
  follow.fsync = d.cfg.fsync;
  follow.restart = d.cfg.restart;
  follow.max_in_flight = d.cfg.max_in_flight;
  follow.figures = d.figures;
  std::shared_ptr<group_tables> tables;
  if (!graph.tables.empty())
    tables = std::make_shared<group_tables>(*d.sys, graph, follow, table_partitions,
                                            d.cfg.recover_ahead);
  // A hot standby follows the group table's partitions this member does not own, into the
  // stores a partition actor opens when one is handed to it.
  std::unique_ptr<table_follower> standby;
  if (d.cfg.hot_standby && graph.persist) {
    auto cfg = follow;
    cfg.topic = graph.table_topic();
    cfg.inputs = graph.input_topics();
    standby = std::make_unique<table_follower>(*d.sys, std::move(cfg));
    std::vector<int32_t> all;
    for (int32_t p = 0; p < d.partition_count; ++p)
      all.push_back(p);
    standby->follow(all);
  }
  pump_config pc{d.graph,         consumer,      d.cfg.from, d.cfg.max_in_flight,
                 d.cfg.drain_timeout, d.cfg.restart, d.figures, lease};
  pc.on_assigned = [t = tables.get(), s = standby.get()](const std::vector<int32_t>& ps) {
    if (s != nullptr)
      s->release(ps); // its stores close before the partition actors open them
    if (t != nullptr)
      t->assigned(ps);
  };
  pc.on_revoked = [t = tables.get(), s = standby.get(),
                   stop = &d.stop](const std::vector<int32_t>& ps) {
    if (t != nullptr)
      t->revoked(ps);
    if (s != nullptr && !*stop)
      s->follow(ps); // the partition actors are gone, their stores closed
  };
  auto spawn = [&](int32_t p, std::shared_ptr<partition_flow> flow, commit_fn commit) {
    partition_config cfg;
    cfg.graph = d.graph;
    cfg.partition = p;
    cfg.store.dir = partition_store::path_for(d.cfg.state_dir, graph.group,
                                              graph.table_topic(), p);
    cfg.store.fsync = d.cfg.fsync;
    cfg.reader = reader;
    cfg.producer = producer;
    cfg.flow = std::move(flow);
    cfg.commit = std::move(commit);
    cfg.drain_timeout = d.cfg.drain_timeout;
    cfg.on_poison = d.cfg.on_poison;
    cfg.poison_retries = d.cfg.poison_retries;
    cfg.max_deferred = d.cfg.max_in_flight;
    cfg.records = d.records;
    cfg.ready = d.ready;
    cfg.figures = d.figures;
    cfg.lease = lease;
    cfg.tables = tables;
    if (d.cfg.clock)
      cfg.clock = d.cfg.clock;
    return d.sys->spawn(partition_actor, std::move(cfg));
  };
  {
    consumer_pump pump{*d.sys, pc, spawn};
    // The broker monitor tells the supervisor when a leader moves or a broker is back, so a
    // partition waiting out its backoff restarts at once.
    auto monitor = d.sys->spawn(broker_monitor, d.figures);
    struct stop_at_scope_end {
      caf::actor actor;
      ~stop_at_scope_end() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }
    } stop_monitor{monitor};
    caf::anon_send(monitor, subscribe_atom::value, pump.supervisor());
    auto watched = graph.input_topics();
    if (graph.persist)
      watched.push_back(graph.table_topic());
    if (standby)
      caf::anon_send(monitor, subscribe_atom::value, standby->supervisor());
    if (tables) {
      for (const auto& s : tables->supervisors())
        caf::anon_send(monitor, subscribe_atom::value, s);
      for (const auto& t : graph.tables)
        watched.push_back(t.topic);
    }
    broker_poller poller{kafka, watched, monitor, d.cfg.monitor_interval,
                         {pump.handle(), producer->handle()}};
    {
      std::lock_guard guard{d.mtx};
      d.pump = &pump;
    }
    try {
      pump.run(d.stop);
    } catch (...) {
      std::lock_guard guard{d.mtx};
      d.pump = nullptr;
      throw;
    }
    std::lock_guard guard{d.mtx};
    d.pump = nullptr;
  }
  standby.reset();
  if (tables) {
    // The partition actors let go of the tables as they finish; the followers stop here, not
    // on an actor's thread.
    for (int i = 0; tables.use_count() > 1 && i < 10000; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    tables.reset();
  }
  if (!producer->flush(d.cfg.drain_timeout))
    log->warn("{} records not acknowledged at shutdown; their inputs are not committed",
              producer->outstanding());
  {
    std::lock_guard guard{d.mtx};
    d.sys.reset(); // waits for every actor
  }
  log->info("group {} stopped after {} records", graph.group, d.records->load());
}

} // namespace partita
