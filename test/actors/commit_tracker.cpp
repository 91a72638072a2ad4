#define CAF_SUITE actors.commit_tracker

#include "actors/commit_tracker.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;

CAF_TEST(in-order acknowledgements advance the watermark) {
  commit_tracker t;
  t.add(0, "clicks", 9);
  t.add(1, "clicks", 19);
  CAF_CHECK_EQUAL(t.watermark("clicks"), -1);
  CAF_CHECK(t.ack(0));
  CAF_CHECK_EQUAL(t.watermark("clicks"), 9);
  CAF_CHECK(t.ack(1));
  CAF_CHECK_EQUAL(t.watermark("clicks"), 19);
  CAF_CHECK_EQUAL(t.pending(), 0u);
}

CAF_TEST(a later batch acknowledged first waits for the earlier one) {
  commit_tracker t;
  t.add(0, "clicks", 9);
  t.add(1, "clicks", 19);
  t.add(2, "clicks", 29);
  CAF_CHECK(!t.ack(2));
  CAF_CHECK(!t.ack(1));
  CAF_CHECK_EQUAL(t.watermark("clicks"), -1);
  CAF_CHECK_EQUAL(t.pending(), 3u);
  CAF_CHECK(t.ack(0));
  CAF_CHECK_EQUAL(t.watermark("clicks"), 29);
  CAF_CHECK_EQUAL(t.pending(), 0u);
}

CAF_TEST(topics keep their own watermarks) {
  commit_tracker t;
  t.restore("views", 100);
  t.add(0, "clicks", 5);
  t.add(1, "views", 110);
  t.add(2, "clicks", 7);
  t.ack(1);
  CAF_CHECK_EQUAL(t.watermark("views"), 100); // behind batch 0
  t.ack(0);
  CAF_CHECK_EQUAL(t.watermark("clicks"), 5);
  CAF_CHECK_EQUAL(t.watermark("views"), 110);
  t.ack(2);
  CAF_CHECK_EQUAL(t.watermark("clicks"), 7);
}
