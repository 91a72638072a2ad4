#define CAF_SUITE actors.owners

// Owner epochs (next_epoch, docs/handover.md): a later owner writes with a higher epoch than an
// earlier one, even one frozen with records in flight that land after the later owner took
// the partition; readers ignore the earlier owner's records, and the next owner writes their
// keys again.

#include "test/support/changelog_fixture.hpp"

#include <caf/test/unit_test.hpp>

#include <map>
#include <optional>
#include <string>

using namespace partita;
using namespace partita::test;

namespace {

int64_t epoch(int64_t generation, int64_t n) {
  return generation << 32 | n;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(owner_tests, fixture)

CAF_TEST(an epoch is the generation then the takeovers in it and never goes back) {
  CAF_CHECK_EQUAL(next_epoch(0, 5), epoch(5, 1));
  CAF_CHECK_EQUAL(next_epoch(epoch(5, 1), 5), epoch(5, 2)); // taken again in the same one
  CAF_CHECK_EQUAL(next_epoch(epoch(5, 2), 7), epoch(7, 1));
  CAF_CHECK_EQUAL(next_epoch(epoch(7, 3), 1), epoch(7, 4)); // a group made again starts at 1
  CAF_CHECK_EQUAL(next_epoch(3, 0), 4);                     // no generation known: a count
  CAF_CHECK_GREATER(next_epoch(0, 1), 4); // above the epochs written before generations
  CAF_CHECK_EQUAL(epoch_text(epoch(7, 3)), "7.3");
}

CAF_TEST(records of a superseded owner are ignored) {
  writer_id old_owner{11, 2};
  writer_id new_owner{12, 3};
  log = {rec(0, new_owner, "alice", "1", 5), rec(1, old_owner, "alice", "99", 6),
         rec(2, new_owner, "alice", "2", 7)};
  auto r = take();
  CAF_CHECK_EQUAL(value("alice"), "2");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 7);
  CAF_CHECK_EQUAL(r.superseded, 1u);
  CAF_CHECK_EQUAL(r.writer.epoch, 4);
}

CAF_TEST(an owner of a later generation supersedes one frozen with records in flight) {
  // Writer 11 counted alice 1 up to input 5. a takes the partition in generation 5, processes
  // input 6 to 9 (alice 2, bob 1), and freezes before its records reach Kafka; the group gives
  // the partition to b in generation 7, which reads the same changelog.
  log = {rec(0, {11, epoch(3, 1)}, "alice", "1", 5)};
  partition_store a_store{store_config{dir / "a"}};
  auto a = take_over(a_store, inputs, source_of(log), {}, 5);
  auto b = take(7);
  CAF_CHECK_GREATER(b.writer.epoch, a.writer.epoch);
  CAF_CHECK_EQUAL(a.writer.base, 1);
  CAF_CHECK_EQUAL(b.writer.base, 1);
  // b processes 6 to 9 (alice 2, carol 1); then a's records land, then b's next batch.
  log.push_back(rec(1, b.writer, "alice", "2"));
  log.push_back(rec(2, b.writer, "carol", "1", 9));
  log.push_back(rec(3, a.writer, "alice", "2"));
  log.push_back(rec(4, a.writer, "bob", "1", 9));
  log.push_back(rec(5, b.writer, "carol", "2", 12));
  // Every reader takes b's: a fresh store, and a again (its lease ran out; it rejoins).
  auto check = [&](partition_store& reader) {
    auto r = take_over(reader, inputs, source_of(log), {}, 9);
    CAF_CHECK_EQUAL(reader.get("alice").value_or("(none)"), "2");
    CAF_CHECK_EQUAL(reader.get("bob").value_or("(none)"), "(none)");
    CAF_CHECK_EQUAL(reader.get("carol").value_or("(none)"), "2");
    CAF_CHECK_EQUAL(r.applied.at("clicks"), 12);
    CAF_CHECK_EQUAL(r.superseded, 2u);
    // The keys a wrote last are written again, as the store holds them: bob has none.
    std::map<std::string, std::optional<std::string>> repair;
    for (const auto& c : r.repair)
      repair[c.key] = c.after;
    CAF_CHECK(repair.contains("bob") && !repair.at("bob"));
    CAF_CHECK(repair.contains("alice") && repair.at("alice") == std::string{"2"});
  };
  partition_store fresh{store_config{dir / "fresh"}};
  check(fresh);
  check(a_store);
}

CAF_TEST(an owner ignores records of the owner it superseded that landed before its own) {
  // This store (writer 22) took the partition in generation 7 from offset 1; the owner before
  // it, frozen in generation 5, had records in flight that landed first.
  own(22, 1, 5, nullptr);
  {
    partition_store::write_batch b{*store};
    b.set_meta(meta::epoch, epoch(7, 1));
    b.put("alice", "1");
    b.commit();
  }
  log = {rec(0, {11, epoch(3, 1)}, "alice", "1", 5), rec(1, {21, epoch(5, 1), 1}, "alice", "9"),
         rec(2, {21, epoch(5, 1), 1}, "dave", "1", 9), rec(3, {22, epoch(7, 1), 1}, "bob", "1", 7)};
  auto r = take(7);
  CAF_CHECK(r.taken == handover_result::path::rolled_back);
  CAF_CHECK_EQUAL(r.superseded, 2u);
  CAF_CHECK_EQUAL(value("alice"), "1");
  CAF_CHECK_EQUAL(value("dave"), "(none)");
  CAF_CHECK_EQUAL(value("bob"), "1");
  CAF_CHECK_EQUAL(r.applied.at("clicks"), 7);
  CAF_CHECK_EQUAL(r.writer.epoch, epoch(7, 2));
  CAF_CHECK_EQUAL(r.repair.size(), 2u); // alice and dave, as the store holds them
}

CAF_TEST(a later owner whose epoch is below the unwritten one of this store still counts) {
  // This store took the partition again and again without writing: its epoch rose where the
  // changelog never showed it. A later owner of the same generation, one counting takeovers
  // (no generation known), and one of an older version all read a lower highest epoch.
  for (auto [own_epoch, theirs] : {std::pair{epoch(7, 5), epoch(7, 2)}, std::pair{int64_t{5},
                                   int64_t{4}}, std::pair{epoch(7, 1), int64_t{13}}}) {
    store->clear();
    own(22, 1, 5, nullptr);
    {
      partition_store::write_batch b{*store};
      b.set_meta(meta::epoch, own_epoch);
      b.set_meta(meta::epoch_seen, 1); // as the changelog up to its position shows
      b.commit();
    }
    log = {rec(0, {11, 1}, "alice", "1", 5), rec(1, {23, theirs, 1}, "alice", "2", 9)};
    auto r = take(7);
    CAF_CHECK_EQUAL(r.superseded, 0u);
    CAF_CHECK_EQUAL(value("alice"), "2");
    CAF_CHECK_EQUAL(r.applied.at("clicks"), 9);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
