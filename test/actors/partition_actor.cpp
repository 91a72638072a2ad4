#define CAF_SUITE actors.partition_actor

#include "actors/partition_actor.hpp"

#include "runtime/embedded_cluster.hpp"
#include "runtime/group_graph.hpp"

#include <caf/test/dsl.hpp>

#include <filesystem>

#include <unistd.h>

using namespace partita;

namespace {

/// A record of the test's own making (a partition actor only reads these fields).
rd_kafka_message_t* record(int64_t offset, const char* key) {
  auto* m = new rd_kafka_message_t{};
  m->partition = 0;
  m->offset = offset;
  m->key = const_cast<char*>(key);
  m->key_len = std::strlen(key);
  m->payload = const_cast<char*>("click");
  m->len = 5;
  return m;
}

record_batch_ptr batch(std::initializer_list<std::pair<int64_t, const char*>> records) {
  auto b = std::make_shared<record_batch>();
  b->topic = "clicks";
  b->release = [](rd_kafka_message_t* m) { delete m; };
  for (auto [offset, key] : records)
    b->records.push_back(record(offset, key));
  return b;
}

using handles = std::shared_ptr<std::vector<commit_handle>>;

/// A group without a table or emits, so that nothing here waits on Kafka; its behavior throws
/// for the key "poison", and defers the commit of a key starting with "later" (its handle in
/// `deferred`).
graph_definition counting_graph(handles deferred) {
  group_graph<> g{"counter"};
  g.input("clicks", bytes_codec{}, [deferred](auto& ctx, const std::string&) {
    if (ctx.key() == "poison")
      throw std::runtime_error("cannot count poison");
    if (ctx.key().starts_with("later"))
      deferred->push_back(ctx.defer_commit());
  });
  return g.definition();
}

struct fixture : test_coordinator_fixture<> {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-partition-test-" + std::to_string(::getpid()));
  embedded_cluster cluster{1};
  std::shared_ptr<kafka_producer> producer =
    std::make_shared<kafka_producer>(kafka_properties{{"bootstrap.servers",
                                                       cluster.bootstrap_servers()}});
  std::shared_ptr<partition_flow> flow = std::make_shared<partition_flow>();
  std::vector<std::pair<std::string, int64_t>> commits;
  std::shared_ptr<std::atomic<uint64_t>> records = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<int64_t>> ready = std::make_shared<std::atomic<int64_t>>(0);
  handles deferred = std::make_shared<std::vector<commit_handle>>();

  fixture() { std::filesystem::remove_all(dir); }
  ~fixture() { std::filesystem::remove_all(dir); }

  partition_config config() {
    partition_config cfg;
    cfg.graph = std::make_shared<const graph_definition>(counting_graph(deferred));
    cfg.partition = 0;
    cfg.store.dir = dir / "p0";
    cfg.producer = producer;
    cfg.flow = flow;
    cfg.commit = [this](const std::string& topic, int32_t, int64_t next) {
      commits.emplace_back(topic, next);
    };
    cfg.drain_timeout = std::chrono::seconds{5};
    cfg.records = records;
    cfg.ready = ready;
    return cfg;
  }

  caf::actor start() {
    auto actor = sys.spawn(partition_actor, config());
    run();
    return actor;
  }

  void deliver(const caf::actor& actor, record_batch_ptr b) {
    flow->in_flight += static_cast<int64_t>(b->records.size());
    self->send(actor, batch_atom::value, std::move(b));
    run();
  }

  partition_state& state(const caf::actor& actor) {
    return deref<caf::stateful_actor<partition_state>>(actor).state;
  }

  offset_map drain(const caf::actor& actor) {
    offset_map out;
    auto answer = self->request(actor, caf::infinite, drain_atom::value);
    run();
    answer.receive([&](const offset_map& m) { out = m; },
                   [&](const caf::error& e) { CAF_FAIL("drain failed: " << sys.render(e)); });
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(partition_actor_tests, fixture)

CAF_TEST(a processed batch is stored and its offset handed to the commit) {
  auto actor = start();
  CAF_CHECK_EQUAL(ready->load(), 1);
  deliver(actor, batch({{0, "alice"}, {1, "bob"}, {2, "alice"}}));
  CAF_CHECK_EQUAL(records->load(), 3u);
  CAF_CHECK_EQUAL(flow->in_flight.load(), 0);
  CAF_REQUIRE_EQUAL(commits.size(), 1u);
  CAF_CHECK_EQUAL(commits.back().first, "clicks");
  CAF_CHECK_EQUAL(commits.back().second, 3); // the next offset to read
  CAF_CHECK_EQUAL(state(actor).applied["clicks"], 2);
  CAF_CHECK_EQUAL(state(actor).tracker.watermark("clicks"), 2);
}

CAF_TEST(drain answers the acknowledged offsets and stops the actor) {
  auto actor = start();
  deliver(actor, batch({{0, "a"}, {1, "b"}}));
  deliver(actor, batch({{2, "c"}}));
  auto offsets = drain(actor);
  CAF_CHECK_EQUAL(offsets["clicks"], 2);
  CAF_CHECK_EQUAL(ready->load(), 0);
  partition_store store{store_config{dir / "p0"}};
  CAF_CHECK_EQUAL(store.meta("acked:clicks").value_or(-1), 2);
  CAF_CHECK_EQUAL(store.meta("applied:clicks").value_or(-1), 2);
}

CAF_TEST(records at or below the applied offset are never applied twice) {
  auto first = start();
  deliver(first, batch({{0, "a"}, {1, "b"}, {2, "c"}}));
  drain(first);
  auto second = start();
  CAF_CHECK_EQUAL(state(second).applied["clicks"], 2);
  // The consumer started from an older committed offset: 1 and 2 are skipped.
  deliver(second, batch({{1, "b"}, {2, "c"}, {3, "d"}}));
  CAF_CHECK_EQUAL(records->load(), 4u);
  CAF_CHECK_EQUAL(commits.back().second, 4);
}

CAF_TEST(a store of Partita 0.1 with unacknowledged records processes them again) {
  {
    partition_store store{store_config{dir / "p0"}};
    partition_store::write_batch b{store};
    b.set_meta("applied:clicks", 9);
    b.set_meta("acked:clicks", 4);
    b.commit();
  }
  auto actor = start();
  CAF_CHECK_EQUAL(state(actor).applied["clicks"], 4);
  offset_map offsets;
  auto answer = self->request(actor, caf::infinite, offsets_atom::value);
  run();
  answer.receive([&](const offset_map& m) { offsets = m; }, [](const caf::error&) {});
  CAF_CHECK_EQUAL(offsets["clicks"], 4);
}

CAF_TEST(a failing record keeps the records before it and fails its partition) {
  auto actor = start();
  self->monitor(actor);
  deliver(actor, batch({{0, "a"}}));
  deliver(actor, batch({{1, "b"}, {2, "poison"}, {3, "c"}}));
  CAF_CHECK_EQUAL(records->load(), 2u);
  CAF_CHECK_EQUAL(commits.back().second, 2);
  CAF_CHECK_EQUAL(flow->in_flight.load(), 0);
  caf::error reason;
  self->receive([&](const caf::down_msg& m) { reason = m.reason; });
  CAF_CHECK_EQUAL(reason, caf::make_error(errc::partition_failed));
  partition_store store{store_config{dir / "p0"}};
  CAF_CHECK_EQUAL(store.meta("applied:clicks").value_or(-1), 1);
  CAF_CHECK_EQUAL(store.meta("acked:clicks").value_or(-1), 1);
  CAF_CHECK_EQUAL(store.meta("poison:clicks").value_or(-1), 2);
  CAF_CHECK_EQUAL(store.meta("poison-attempts:clicks").value_or(-1), 1);
}

CAF_TEST(the stop-partition policy stops the partition for good) {
  auto cfg = config();
  cfg.on_poison = poison_policy::stop_partition;
  auto actor = sys.spawn(partition_actor, cfg);
  self->monitor(actor);
  run();
  deliver(actor, batch({{0, "poison"}}));
  caf::error reason;
  self->receive([&](const caf::down_msg& m) { reason = m.reason; });
  CAF_CHECK_EQUAL(reason, caf::make_error(errc::partition_stopped));
}

CAF_TEST(a deferred record and the batches after it are committed once its handle is called) {
  auto actor = start();
  deliver(actor, batch({{0, "a"}, {1, "later-b"}, {2, "later-c"}}));
  deliver(actor, batch({{3, "d"}}));
  CAF_CHECK_EQUAL(records->load(), 4u);
  CAF_CHECK(commits.empty());
  CAF_CHECK_EQUAL(state(actor).deferred.open(), 2u);
  CAF_REQUIRE_EQUAL(deferred->size(), 2u);
  deferred->at(1).done();
  deferred->at(1).done(); // a second call does nothing
  run();
  CAF_CHECK(commits.empty()); // its batch holds another handle
  deferred->at(0).done();
  run();
  CAF_REQUIRE(!commits.empty());
  CAF_CHECK_EQUAL(commits.back().second, 4);
  CAF_CHECK_EQUAL(state(actor).deferred.open(), 0u);
  drain(actor);
  partition_store store{store_config{dir / "p0"}};
  CAF_CHECK_EQUAL(store.meta("acked:clicks").value_or(-1), 3);
  CAF_CHECK_EQUAL(store.meta("deferred-from").value_or(0), -1);
}

CAF_TEST(a drain past its timeout undoes a held batch and the records come again) {
  auto first = start();
  deliver(first, batch({{0, "a"}}));
  deliver(first, batch({{1, "later-b"}, {2, "c"}}));
  deliver(first, batch({{3, "d"}}));
  auto answer = self->request(first, caf::infinite, drain_atom::value);
  run();
  run(); // on past the drain timeout, the handle never called
  offset_map offsets;
  answer.receive([&](const offset_map& m) { offsets = m; }, [](const caf::error&) {});
  CAF_CHECK_EQUAL(offsets["clicks"], 0);
  auto second = start();
  CAF_CHECK_EQUAL(state(second).applied["clicks"], 0); // both batches after "a" undone
  deferred->front().done(); // reaches the partition that is gone: nothing
  run();
  deliver(second, batch({{1, "later-b"}, {2, "c"}, {3, "d"}}));
  CAF_CHECK_EQUAL(records->load(), 4u + 3u);
  CAF_REQUIRE_EQUAL(deferred->size(), 2u);
  deferred->back().done();
  run();
  CAF_CHECK_EQUAL(commits.back().second, 4);
}

CAF_TEST(a failed deferred record fails its partition and is processed again at the restart) {
  auto first = start();
  self->monitor(first);
  deliver(first, batch({{0, "a"}, {1, "later-b"}}));
  deliver(first, batch({{2, "c"}}));
  deferred->front().fail("the mail server said no");
  sched.run(); // messages only: the failure does not wait for the held batches' drain timeout
  CAF_REQUIRE(!self->mailbox().empty()); // its down message
  caf::error reason;
  self->receive([&](const caf::down_msg& m) { reason = m.reason; });
  CAF_CHECK_EQUAL(reason, caf::make_error(errc::partition_failed));
  auto second = start();
  CAF_CHECK_EQUAL(state(second).applied["clicks"], -1);
  {
    auto& st = state(second);
    CAF_CHECK_EQUAL(st.store->meta("poison:clicks").value_or(-1), 1);
    CAF_CHECK_EQUAL(st.store->meta("poison-attempts:clicks").value_or(-1), 1);
  }
  deliver(second, batch({{0, "a"}, {1, "later-b"}, {2, "c"}}));
  CAF_REQUIRE_EQUAL(deferred->size(), 2u); // its behavior ran again
  deferred->back().done();
  run();
  CAF_CHECK_EQUAL(commits.back().second, 3);
}

CAF_TEST(a partition with max_deferred records open takes no more until handles are called) {
  auto cfg = config();
  cfg.max_deferred = 2;
  auto actor = sys.spawn(partition_actor, cfg);
  run();
  deliver(actor, batch({{0, "later-a"}, {1, "later-b"}, {2, "later-c"}}));
  deliver(actor, batch({{3, "later-d"}}));
  CAF_CHECK_EQUAL(records->load(), 2u);
  CAF_CHECK_EQUAL(flow->in_flight.load(), 4); // held: the pump fetches no more
  deferred->at(0).done();
  run();
  CAF_CHECK_EQUAL(records->load(), 3u);
  for (std::size_t i = 1; i < deferred->size(); ++i)
    deferred->at(i).done();
  run();
  CAF_CHECK_EQUAL(records->load(), 4u);
  for (std::size_t i = 3; i < deferred->size(); ++i)
    deferred->at(i).done();
  run();
  CAF_CHECK_EQUAL(deferred->size(), 4u);
  CAF_CHECK_EQUAL(flow->in_flight.load(), 0);
  CAF_CHECK_EQUAL(commits.back().second, 4);
}

CAF_TEST_FIXTURE_SCOPE_END()
