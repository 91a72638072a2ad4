#define CAF_SUITE actors.broker_monitor

#include "actors/broker_monitor.hpp"

#include <caf/test/dsl.hpp>

using namespace partita;

namespace {

cluster_snapshot snapshot(std::set<int32_t> reachable, int32_t leader_of_0 = 1) {
  cluster_snapshot s;
  s.brokers = {1, 2, 3};
  s.reachable = std::move(reachable);
  s.leaders[{"clicks", 0}] = leader_of_0;
  s.leaders[{"clicks", 1}] = 2;
  return s;
}

broker_event down(int32_t b) {
  broker_event e{};
  e.kind = broker_event::down;
  e.broker = b;
  return e;
}

broker_event up(int32_t b) {
  broker_event e{};
  e.kind = broker_event::up;
  e.broker = b;
  return e;
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<metrics> figures = std::make_shared<metrics>();
  caf::actor monitor = sys.spawn(broker_monitor, figures);

  /// The figure `name{labels}`, -1 when there is none.
  double figure(const std::string& name, const metrics::labels& l = {}) {
    for (const auto& s : figures->samples())
      if (s.name == name && s.tags == l)
        return s.value;
    return -1;
  }

  void feed(const cluster_snapshot& s) {
    self->send(monitor, snapshot_atom::value,
               cluster_snapshot_ptr{std::make_shared<cluster_snapshot>(s)});
    run();
  }
};

} // namespace

CAF_TEST(a broker is reported down once after two snapshots agree) {
  broker_tracker t;
  CAF_CHECK(t.update(snapshot({1, 2, 3})).empty());
  CAF_CHECK(t.update(snapshot({1, 3})).empty()); // one snapshot: could be a blip
  CAF_CHECK_EQUAL(t.update(snapshot({1, 3})), std::vector<broker_event>{down(2)});
  CAF_CHECK(t.update(snapshot({1, 3})).empty());
  CAF_CHECK(t.update(snapshot({1, 2, 3})).empty());
  CAF_CHECK_EQUAL(t.update(snapshot({1, 2, 3})), std::vector<broker_event>{up(2)});
}

CAF_TEST(a blip is not an event) {
  broker_tracker t;
  t.update(snapshot({1, 2, 3}));
  CAF_CHECK(t.update(snapshot({1, 3})).empty());
  CAF_CHECK(t.update(snapshot({1, 2, 3})).empty());
  CAF_CHECK(t.update(snapshot({1, 3})).empty());
}

CAF_TEST(a leader change is reported at once and only once) {
  broker_tracker t;
  t.update(snapshot({1, 2, 3}, 1));
  auto events = t.update(snapshot({1, 2, 3}, 3));
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].topic, "clicks");
  CAF_CHECK_EQUAL(events[0].partition, 0);
  CAF_CHECK_EQUAL(events[0].from, 1);
  CAF_CHECK_EQUAL(events[0].to, 3);
  CAF_CHECK(t.update(snapshot({1, 2, 3}, 3)).empty());
}

CAF_TEST_FIXTURE_SCOPE(monitor_tests, fixture)

CAF_TEST(subscribers get one message per transition) {
  self->send(monitor, subscribe_atom::value, caf::actor{self});
  run();
  feed(snapshot({1, 2, 3}));
  feed(snapshot({1, 3}));
  feed(snapshot({1, 3}, 3));
  feed(snapshot({1, 3}, 3));
  feed(snapshot({1, 2, 3}, 3));
  feed(snapshot({1, 2, 3}, 3));
  std::vector<std::string> got;
  bool more = true;
  while (more)
    self->receive([&](broker_down_atom, int32_t b) { got.push_back("down " + std::to_string(b)); },
                  [&](broker_up_atom, int32_t b) { got.push_back("up " + std::to_string(b)); },
                  [&](leader_atom, const std::string& topic, int32_t p, int32_t from,
                      int32_t to) {
                    got.push_back(topic + "/" + std::to_string(p) + " " +
                                  std::to_string(from) + "->" + std::to_string(to));
                  },
                  caf::after(std::chrono::seconds{0}) >> [&] { more = false; });
  CAF_CHECK_EQUAL(got, (std::vector<std::string>{"down 2", "clicks/0 1->3", "up 2"}));
}

CAF_TEST(metrics show the reported broker states and the leaders) {
  feed(snapshot({1, 2, 3}));
  CAF_CHECK_EQUAL(figure("partita_broker_up", {{"broker", "2"}}), 1);
  CAF_CHECK_EQUAL(figure("partita_partition_leader", {{"partition", "0"}, {"topic", "clicks"}}),
                  1);
  feed(snapshot({1, 3}));
  CAF_CHECK_EQUAL(figure("partita_broker_up", {{"broker", "2"}}), 1); // not confirmed yet
  feed(snapshot({1, 3}, 3));
  CAF_CHECK_EQUAL(figure("partita_broker_up", {{"broker", "2"}}), 0);
  CAF_CHECK_EQUAL(figure("partita_partition_leader", {{"partition", "0"}, {"topic", "clicks"}}),
                  3);
  CAF_CHECK_EQUAL(figure("partita_leader_changes_total"), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
