#define CAF_SUITE actors.handover

// The hand-over rule (actors/handover.hpp) on stores of every kind — empty, current, stale,
// ahead of the group's commit, of Partita 0.1 — against changelogs made record by record.

#include "actors/timer_format.hpp"

#include "test/support/changelog_fixture.hpp"
#include "test/support/errors.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;
using namespace partita::test;

CAF_TEST_FIXTURE_SCOPE(handover_tests, fixture)

CAF_TEST(a pending batch survives its encoding) {
  auto p = one_pending();
  auto q = pending_batch::decode(p.seq, p.encode());
  CAF_CHECK_EQUAL(q.topic, "clicks");
  CAF_CHECK_EQUAL(q.last_offset, 19);
  CAF_REQUIRE_EQUAL(q.changes.size(), 2u);
  CAF_CHECK_EQUAL(*q.changes[0].before, "2");
  CAF_CHECK(!q.changes[1].before);
  CAF_CHECK_EQUAL(*q.changes[1].after, "1");
  CAF_REQUIRE_EQUAL(q.outputs.size(), 1u);
  CAF_CHECK_EQUAL(q.outputs[0].headers[0].value, "clicks/0/19");
  bool refused = false;
  try {
    pending_batch::decode(1, p.encode().substr(3));
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CAF_CHECK(refused);
}

CAF_TEST(an empty store takes the checkpointed values and leaves an unfinished batch out) {
  writer_id a{11, 1};
  log = {rec(0, a, "alice", "1"), rec(1, a, "bob", "1", 9), rec(2, a, "alice", "2")};
  auto r = take();
  CAF_CHECK_EQUAL(read_from, 0);
  CAF_CHECK_EQUAL(value("alice"), "1");
  CAF_CHECK_EQUAL(value("bob"), "1");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 9);
  CAF_CHECK_EQUAL(store->meta(meta::acked("clicks")).value_or(-1), 9);
  CAF_CHECK_EQUAL(r.left_out, 1u);
  CAF_CHECK(r.resend.empty());
  CAF_CHECK_EQUAL(r.writer.epoch, 2); // above every epoch seen
  CAF_CHECK_NOT_EQUAL(r.writer.store, 11);
  CAF_CHECK_EQUAL(r.changelog_end, 3);
}

CAF_TEST(a current store keeps its pending batch to send again and reapplies nothing) {
  auto p = one_pending();
  own(7, 1, 9, &p);
  writer_id self{7, 1};
  // Before the crash, alice's record of the pending batch reached the changelog, bob's not.
  log = {rec(0, self, "alice", "2", 9), rec(1, self, "alice", "5")};
  auto r = take();
  CAF_CHECK(r.taken == handover_result::path::current);
  CAF_CHECK_EQUAL(read_from, 1);
  CAF_REQUIRE_EQUAL(r.resend.size(), 1u);
  CAF_CHECK_EQUAL(r.resend[0].seq, 4u);
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 19); // resumes after the pending batch
  CAF_CHECK_EQUAL(value("alice"), "5");
  CAF_CHECK_EQUAL(value("bob"), "1");
  CAF_CHECK_EQUAL(r.writer.store, 7);
  CAF_CHECK_EQUAL(r.writer.epoch, 2);
  CAF_CHECK_EQUAL(r.writer.base, 1); // the own records after it are sent again
  CAF_CHECK_EQUAL(r.changelog_end, 2);
}

CAF_TEST(a stale store rolls its pending batch back and takes what the other writer wrote) {
  auto p = one_pending();
  own(7, 1, 9, &p);
  // Another member owned the partition meanwhile, processed up to 14 and counted alice 3.
  log = {rec(0, {7, 1}, "alice", "2", 9), rec(1, {8, 2}, "alice", "3", 14)};
  auto r = take();
  CAF_CHECK(r.taken == handover_result::path::rolled_back);
  CAF_CHECK_EQUAL(r.rolled_back, 1u);
  CAF_CHECK(r.resend.empty());
  CAF_CHECK_EQUAL(value("alice"), "3");
  CAF_CHECK_EQUAL(value("bob"), "(none)"); // only the rolled-back batch had it
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 14);
  size_t pending = 0;
  store->for_each_pending([&](uint64_t, std::string_view) { ++pending; });
  CAF_CHECK_EQUAL(pending, 0u);
  CAF_CHECK_EQUAL(r.writer.epoch, 3);
}

CAF_TEST(own records before another writer count once the rollback is done) {
  auto p = one_pending();
  own(7, 1, 9, &p);
  // The pending batch reached the changelog whole (checkpoint 19), then another member went on.
  log = {rec(0, {7, 1}, "alice", "2", 9), rec(1, {7, 1}, "alice", "5"),
         rec(2, {7, 1}, "bob", "1", 19), rec(3, {8, 2}, "bob", "2", 25)};
  auto r = take();
  CAF_CHECK(r.taken == handover_result::path::rolled_back);
  CAF_CHECK_EQUAL(value("alice"), "5");
  CAF_CHECK_EQUAL(value("bob"), "2");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 25);
}

CAF_TEST(a store ahead of the group commit resumes after what it holds) {
  own(7, 1, 30, nullptr);
  log = {rec(0, {7, 1}, "alice", "9", 30)};
  auto r = take();
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 30);
  CAF_CHECK(r.taken == handover_result::path::current);
}

CAF_TEST(a batch cut short by its writer is left out when another writer follows) {
  log = {rec(0, {11, 1}, "alice", "1"), rec(1, {12, 2}, "bob", "1", 3)};
  auto r = take();
  CAF_CHECK_EQUAL(value("alice"), "(none)");
  CAF_CHECK_EQUAL(value("bob"), "1");
  CAF_CHECK_EQUAL(r.left_out, 1u);
}

CAF_TEST(a batch whose checkpoint was compacted away counts when the next writer started after it) {
  // Writer 11 wrote alice (0) and bob (1, the checkpoint); writer 12 took over from offset 2 and
  // wrote bob again, and compaction removed offset 1.
  log = {rec(0, {11, 1}, "alice", "1"), rec(2, {12, 2, 2}, "bob", "2", 8)};
  auto r = take();
  CAF_CHECK_EQUAL(value("alice"), "1");
  CAF_CHECK_EQUAL(value("bob"), "2");
  CAF_CHECK_EQUAL(r.left_out, 0u);
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 8);
}

CAF_TEST(a changelog of Partita 0.1 still recovers) {
  log = {rec(0, {}, "alice", "1"), rec(1, {}, "alice", "2"), legacy_marker(2, 4),
         rec(3, {}, "bob", "1")};
  auto r = take();
  CAF_CHECK_EQUAL(value("alice"), "2");
  CAF_CHECK_EQUAL(value("bob"), "(none)");
  CAF_CHECK_EQUAL(value(std::string{legacy_marker_prefix} + "clicks"), "(none)");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 4);
  CAF_CHECK_EQUAL(store->meta(meta::changelog).value_or(-1), 3);
}

CAF_TEST(a store of Partita 0.1 with unacknowledged records is rebuilt from the changelog) {
  {
    partition_store::write_batch b{*store};
    b.set_meta(meta::applied("clicks"), 9);
    b.set_meta(meta::acked("clicks"), 4);
    b.set_meta(meta::changelog, 3);
    b.put("alice", "7"); // holds records 5..9, which are processed again
    b.commit();
  }
  log = {rec(0, {}, "alice", "2"), legacy_marker(1, 4)};
  auto r = take();
  CAF_CHECK(r.taken == handover_result::path::rebuilt);
  CAF_CHECK_EQUAL(read_from, 0);
  CAF_CHECK_EQUAL(value("alice"), "2");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 4);
}

CAF_TEST(a followed topic counts other producers records at once and leaves out unfinished batches) {
  changelog_replay follow{*store, changelog_replay::plain_records::count_at_once};
  writer_id a{7, 1, 0};
  std::vector<changelog_record> records{rec(0, {}, "plain", "1"), rec(1, a, "x", "2"),
                                        rec(2, a, "y", "3", 10), rec(3, a, "z", "4"),
                                        rec(4, {}, "plain", "5")};
  follow.apply(records);
  CAF_CHECK_EQUAL(store->get("plain"), std::optional<std::string>{"5"});
  CAF_CHECK_EQUAL(store->get("x"), std::optional<std::string>{"2"}); // vouched at offset 2
  CAF_CHECK_EQUAL(store->get("z"), std::nullopt); // its batch never got its checkpoint
  CAF_CHECK_EQUAL(follow.left_out(), 1u);
  CAF_CHECK_EQUAL(store->meta(meta::changelog), std::optional<int64_t>{5});
}

CAF_TEST(a standby store rolls back its pending batches) {
  partition_store::write_batch b{*store};
  b.put("k", "new");
  pending_batch p;
  p.seq = 1;
  p.topic = "clicks";
  p.last_offset = 4;
  p.changes.push_back({"k", std::optional<std::string>{"old"}, std::optional<std::string>{"new"}});
  b.put_pending(1, p.encode());
  b.set_meta(meta::applied("clicks"), 4);
  b.set_meta(meta::acked("clicks"), 2);
  b.commit();
  CAF_CHECK_EQUAL(roll_back_pending(*store, inputs), 1u);
  CAF_CHECK_EQUAL(store->get("k"), std::optional<std::string>{"old"});
  CAF_CHECK_EQUAL(store->meta(meta::applied("clicks")), std::optional<int64_t>{2});
  CAF_CHECK_EQUAL(roll_back_pending(*store, inputs), 0u);
}

namespace {

/// A side changelog's checkpoint of batch `n`, which changelog `then` (if any) must confirm.
changelog_record side_rec(int64_t offset, writer_id w, std::string key, int64_t vouches,
                          int64_t n, std::string then, std::optional<std::string> value = "1") {
  auto r = rec(offset, w, std::move(key), std::move(value), vouches);
  r.batch = n;
  r.then = std::move(then);
  return r;
}

/// A timers changelog checkpoint of batch `n`; `then_table`: the table's must confirm it.
changelog_record timer_rec(int64_t offset, writer_id w, const timer_id& id,
                           std::optional<std::string> value, int64_t vouches, int64_t n,
                           bool then_table) {
  return side_rec(offset, w, encode_timer_key(id), vouches, n, then_table ? "table" : "",
                  std::move(value));
}

} // namespace

CAF_TEST(a timers batch counts only with the table checkpoint of its number) {
  writer_id w{7, 1, 0};
  auto counted = rec(0, w, "alice", std::string{"1"}, 5);
  counted.batch = 1;
  log = {counted};
  // Batch 1's timers are confirmed by the table; batch 2's table records never landed (its
  // writer crashed between the two), so its timer is left out, to be written again as absent.
  timer_log = {timer_rec(0, w, {100, 1}, encode_timer_value("alice", "p"), 5, 1, true),
               timer_rec(1, w, {200, 2}, encode_timer_value("bob", "q"), 9, 2, true)};
  auto r = take_with_timers();
  CAF_CHECK_EQUAL(store->side_size(side::timers), 1u);
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 5);
  CAF_CHECK_EQUAL(r.left_out, 1u);
  CAF_REQUIRE_EQUAL(r.sides[0].repair.size(), 1u);
  CAF_CHECK(r.sides[0].repair[0].key == encode_timer_key({200, 2}));
  CAF_CHECK(!r.sides[0].repair[0].after);
  CAF_CHECK_EQUAL(r.sides[0].end, 2);
  CAF_CHECK_EQUAL(r.sides[0].base, 1);
}

CAF_TEST(a timers only batch counts by its own checkpoint and a stale store rolls its timers back) {
  // This store set a timer in a pending batch; another writer wrote the timers changelog since.
  pending_batch p;
  p.seq = 1;
  p.topic = "clicks";
  p.last_offset = 3;
  p.changes_of(side::timers).push_back({encode_timer_key({50, 9}), std::nullopt, std::string{"x"}});
  own(11, 0, 2, nullptr);
  {
    partition_store::write_batch b{*store};
    b.set_side(side::timers, p.changes_of(side::timers)[0].key, std::string{"x"});
    b.put_pending(p.seq, p.encode());
    b.commit();
  }
  writer_id other{12, 2, 0};
  timer_log = {timer_rec(0, other, {70, 1}, encode_timer_value("carol", "r"), 6, 1, false)};
  auto r = take_with_timers();
  CAF_CHECK(r.taken == handover_result::path::rolled_back);
  CAF_CHECK_EQUAL(r.rolled_back, 1u);
  CAF_CHECK(r.resend.empty());
  CAF_CHECK_EQUAL(store->side_size(side::timers), 1u); // the other writer's, not the rolled-back one
  partition_store::write_batch look{*store};
  CAF_CHECK(look.get_side(side::timers, encode_timer_key({70, 1})).has_value());
  CAF_CHECK(!look.get_side(side::timers, encode_timer_key({50, 9})).has_value());
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 6);
  CAF_CHECK_EQUAL(r.writer.epoch, 3);
}

CAF_TEST(a windows batch counts only if the changelog its checkpoint names counted it) {
  writer_id w{7, 1, 0};
  auto table = rec(0, w, "alice", std::string{"1"}, 5);
  table.batch = 1;
  log = {table};
  // Batch 1 went windows -> timers -> table, all landed. Batch 2 went windows -> timers and
  // its writer crashed before the table's; batch 3's windows landed, its timers never did.
  timer_log = {timer_rec(0, w, {100, 1}, encode_timer_value("alice", "p"), 5, 1, true),
               timer_rec(1, w, {200, 2}, encode_timer_value("bob", "q"), 7, 2, true)};
  window_log = {side_rec(0, w, "w-alice", 5, 1, "timers"), side_rec(1, w, "w-bob", 7, 2, "timers"),
                side_rec(2, w, "w-carol", 9, 3, "timers")};
  auto r = take_with_sides();
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 5);
  CAF_CHECK_EQUAL(store->side_size(side::timers), 1u);
  CAF_CHECK_EQUAL(store->side_size(side::windows), 1u);
  partition_store::write_batch look{*store};
  CAF_CHECK(look.get_side(side::windows, "w-alice").has_value());
  CAF_CHECK(!look.get_side(side::windows, "w-bob").has_value());
  CAF_CHECK(!look.get_side(side::windows, "w-carol").has_value());
  // The left-out windows are written again as absent, so that compaction keeps no left-out one.
  CAF_REQUIRE_EQUAL(r.sides[1].repair.size(), 2u);
  CAF_CHECK_EQUAL(r.sides[1].repair[0].key, "w-bob");
  CAF_CHECK(!r.sides[1].repair[0].after);
  CAF_CHECK_EQUAL(r.sides[1].end, 3);
  CAF_CHECK_EQUAL(r.sides[1].base, 1);
}

CAF_TEST(a side batch confirmed by a table read before counts though the read was cut short) {
  // A take-over read the table's changelog, then stopped (revoked, killed) before the timers';
  // the next one starts the table past batch 1, and must still count batch 1's timers.
  writer_id w{7, 1, 0};
  auto counted = rec(0, w, "alice", std::string{"1"}, 5);
  counted.batch = 1;
  log = {counted};
  timer_log = {timer_rec(0, w, {100, 1}, encode_timer_value("alice", "p"), 5, 1, true)};
  changelog_source cut = [](int64_t, const auto&) -> int64_t {
    throw std::runtime_error("read cancelled");
  };
  CAF_CHECK_EQUAL(error_of([&] {
                    take_over(*store, inputs, source_of(log, &read_from), side_sources{&cut, nullptr});
                  }),
                  "read cancelled");
  CAF_CHECK_EQUAL(store->meta(meta::changelog), std::optional<int64_t>{1});
  auto r = take_with_timers();
  CAF_CHECK_EQUAL(read_from, 1);
  CAF_CHECK_EQUAL(store->side_size(side::timers), 1u);
  CAF_CHECK_EQUAL(r.left_out, 0u);
  CAF_CHECK(r.sides[0].repair.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
