#define CAF_SUITE actors.windows

// Windowed tables in event time, through partita::tester, which runs them with the partition
// actor's own code (engine_context, window_batch): windows of a record, stream time, grace,
// late records, results emitted once on close, retention, and the errors a user meets.

#include "actors/windows.hpp"
#include "runtime/tester.hpp"
#include "test/support/errors.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;
using namespace std::chrono_literals;
using partita::test::contains;
using partita::test::error_of;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t w0 = 1'700'000'040'000; // a minute's start
static_assert(w0 % minute == 0);

/// Counts clicks per key and minute (and in all, in the group table). A click "fail" fails
/// after its window update; a click "none" has no event time.
group_graph<int64_codec> per_minute(window_spec spec) {
  group_graph<int64_codec> g{"wc"};
  g.windowed("clicks-per-minute", spec, int64_codec{}, "wc-results");
  g.input("clicks", string_codec{}, [](context<int64_codec>& ctx, const std::string& v) {
    auto add = [](std::optional<int64_t> n) { return n.value_or(0) + 1; };
    if (v == "none")
      ctx.update_windows_at<int64_t>(-1, add);
    else
      ctx.update_windows<int64_t>(add);
    if (v == "fail")
      throw std::runtime_error("the click does not parse");
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  return g;
}

window_spec minutes() {
  return window_spec::tumbling(1min).with_grace(10s);
}

tester_config cfg() {
  tester_config c;
  c.start_ms = w0;
  c.poison_retries = 0;
  return c;
}

void click(tester& tt, std::string_view key, int64_t at, std::string what = "click") {
  consume_options o;
  o.timestamp = at;
  tt.consume("clicks", key, what, o);
}

struct result {
  std::string key;
  int64_t count;
  int64_t start;
  int64_t end;
  friend bool operator==(const result&, const result&) = default;
};

std::vector<result> results(tester& tt, tester::queue& q) {
  std::vector<result> out;
  while (auto r = q.next())
    out.push_back({r->key, tt.value_of<int64_t>(*r),
                   std::stoll(r->header_value("partita.window.start").value_or("-1")),
                   std::stoll(r->header_value("partita.window.end").value_or("-1"))});
  return out;
}

} // namespace

CAF_TEST(a tumbling count emits each window once when stream time passes its end and grace) {
  tester tt{per_minute(minutes()), cfg()};
  auto out = tt.output("wc-results");
  click(tt, "a", w0 + 1'000);
  click(tt, "a", w0 + 30'000);
  click(tt, "b", w0 + 59'999);
  click(tt, "a", w0 + minute + 1'000);       // the next minute: the first stays open (grace)
  click(tt, "b", w0 + minute + 9'999);
  CAF_CHECK_EQUAL(out.size(), 0u);
  click(tt, "c", w0 + minute + 10'000); // stream time reaches the first minute's end + 10 s
  std::vector<result> closed{{"a", 2, w0, w0 + minute}, {"b", 1, w0, w0 + minute}};
  CAF_CHECK_EQUAL(results(tt, out), closed);
  auto a = tt.windows<int64_t>("clicks-per-minute", "a");
  CAF_REQUIRE_EQUAL(a.size(), 2u);
  CAF_CHECK_EQUAL(a[0].window.start, w0);
  CAF_CHECK_EQUAL(a[0].value, 2);
  CAF_CHECK(a[0].closed);
  CAF_CHECK_EQUAL(a[1].window.start, w0 + minute);
  CAF_CHECK_EQUAL(a[1].value, 1);
  CAF_CHECK(!a[1].closed);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("wc-table", "a"), 3); // the group table beside it
  // A jump in stream time closes every window it passes, each once.
  click(tt, "d", w0 + 10 * minute);
  std::vector<result> next{{"a", 1, w0 + minute, w0 + 2 * minute},
                           {"b", 1, w0 + minute, w0 + 2 * minute},
                           {"c", 1, w0 + minute, w0 + 2 * minute}};
  CAF_CHECK_EQUAL(results(tt, out), next);
  click(tt, "d", w0 + 10 * minute + 1);
  CAF_CHECK_EQUAL(out.size(), 0u);
}

CAF_TEST(a record within the grace period counts and a later one is late and dropped) {
  tester tt{per_minute(minutes()), cfg()};
  auto out = tt.output("wc-results");
  auto dlq = tt.output("wc-dlq");
  click(tt, "a", w0 + 5'000);
  click(tt, "a", w0 + minute + 9'000);   // stream time: 9 s past the first minute
  click(tt, "a", w0 + 50'000);           // out of order, within the grace: counts
  click(tt, "a", w0 + minute + 10'000);  // closes the first minute
  CAF_CHECK_EQUAL(results(tt, out), (std::vector<result>{{"a", 2, w0, w0 + minute}}));
  click(tt, "a", w0 + 59'000);           // late: its window closed
  auto a = tt.windows<int64_t>("clicks-per-minute", "a");
  CAF_REQUIRE_EQUAL(a.size(), 2u);
  CAF_CHECK_EQUAL(a[0].value, 2);
  CAF_CHECK_EQUAL(a[1].value, 2);
  CAF_CHECK_EQUAL(out.size(), 0u);
  CAF_CHECK_EQUAL(dlq.size(), 0u); // the default policy drops it (counted in /metrics)
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("wc-table", "a"), 5); // the rest of it stays
}

CAF_TEST(the dead letter policy sends a late record to the dead letter topic) {
  tester tt{per_minute(minutes().on_late(late_policy::dead_letter)), cfg()};
  auto dlq = tt.output("wc-dlq");
  click(tt, "a", w0 + minute + 10'000);
  click(tt, "a", w0 + 1'000);
  auto late = dlq.next();
  CAF_REQUIRE(late.has_value());
  CAF_CHECK_EQUAL(late->key, "a");
  auto why = late->header_value("partita.error").value_or("");
  CAF_CHECK(contains(why, "late for window [" + std::to_string(w0) + ", "));
  CAF_CHECK(contains(why, "clicks-per-minute"));
  CAF_CHECK_EQUAL(tt.windows<int64_t>("clicks-per-minute", "a").size(), 1u);
}

CAF_TEST(a hopping window counts a record in every window it falls in) {
  tester tt{per_minute(window_spec::hopping(1min, 20s)), cfg()};
  click(tt, "a", w0 + 45'000);
  auto a = tt.windows<int64_t>("clicks-per-minute", "a");
  CAF_REQUIRE_EQUAL(a.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK_EQUAL(a[i].window.start, w0 + i * 20'000);
    CAF_CHECK_EQUAL(a[i].window.end, w0 + i * 20'000 + minute);
    CAF_CHECK_EQUAL(a[i].value, 1);
  }
}

CAF_TEST(windows past their retention are deleted) {
  tester tt{per_minute(minutes().with_retention(2min)), cfg()};
  click(tt, "a", w0 + 1'000);
  click(tt, "a", w0 + 3 * minute - 1); // the first minute's end + 2 min not reached
  CAF_CHECK_EQUAL(tt.windows<int64_t>("clicks-per-minute", "a").size(), 2u);
  click(tt, "a", w0 + 3 * minute);
  auto a = tt.windows<int64_t>("clicks-per-minute", "a");
  CAF_REQUIRE_EQUAL(a.size(), 2u);
  CAF_CHECK_EQUAL(a[0].window.start, w0 + 2 * minute);
  CAF_CHECK_EQUAL(a[1].window.start, w0 + 3 * minute);
}

CAF_TEST(a record that fails leaves no window update behind) {
  tester tt{per_minute(minutes()), cfg()};
  auto dlq = tt.output("wc-dlq");
  click(tt, "a", w0 + 1'000);
  click(tt, "a", w0 + 2'000, "fail");
  CAF_CHECK_EQUAL(dlq.size(), 1u);
  auto a = tt.windows<int64_t>("clicks-per-minute", "a");
  CAF_REQUIRE_EQUAL(a.size(), 1u);
  CAF_CHECK_EQUAL(a[0].value, 1);
}

CAF_TEST(a record without a timestamp and bad window specs are clear errors) {
  tester tt{per_minute(minutes()), cfg()};
  auto dlq = tt.output("wc-dlq");
  click(tt, "a", w0, "none");
  auto bad = dlq.next();
  CAF_REQUIRE(bad.has_value());
  auto why = bad->header_value("partita.error").value_or("");
  CAF_CHECK(contains(why, "the record has no timestamp"));
  CAF_CHECK(contains(why, "ctx.update_windows_at"));
  auto invalid = [](window_spec spec) {
    return error_of([&] { tester t{per_minute(spec), cfg()}; });
  };
  CAF_CHECK(contains(invalid(window_spec::tumbling(0ms)),
                     "a window size of 0 ms; pass a size of at least 1 ms"));
  CAF_CHECK(contains(invalid(window_spec::tumbling(-5s)), "a window size of -5000 ms"));
  CAF_CHECK(contains(invalid(window_spec::hopping(1min, 2min)), "an advance of 120000 ms"));
  CAF_CHECK(contains(invalid(minutes().with_grace(-1s)), "a grace period of -1000 ms"));
  CAF_CHECK(contains(invalid(minutes().with_retention(5s)), "shorter than the grace period"));
  group_graph<int64_codec> twice{"twice"};
  twice.windowed("one", minutes(), int64_codec{}, "out1");
  CAF_CHECK(contains(error_of([&] { twice.windowed("two", minutes(), int64_codec{}, "out2"); }),
                     "windowed is declared twice"));
  group_graph<int64_codec> none{"none"};
  none.input("clicks", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.update_windows<int64_t>([](std::optional<int64_t> n) { return n.value_or(0) + 1; });
  });
  tester plain{none, cfg()};
  auto plain_dlq = plain.output("none-dlq");
  plain.consume("clicks", "k", std::string{"x"});
  CAF_CHECK(contains(plain_dlq.next()->header_value("partita.error").value_or(""),
                     "has no windowed table; declare one with graph.windowed"));
  group_graph<int64_codec> typed{"typed"};
  typed.windowed("w", minutes(), int64_codec{}, "typed-out");
  typed.input("clicks", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.update_windows<std::string>([](std::optional<std::string>) { return std::string{}; });
  });
  tester wrong{typed, cfg()};
  auto wrong_dlq = wrong.output("typed-dlq");
  wrong.consume("clicks", "k", std::string{"x"});
  CAF_CHECK(contains(wrong_dlq.next()->header_value("partita.error").value_or(""),
                     "T is not the value type of its int64 codec"));
}

CAF_TEST(window keys order windows by time and keep engine keys apart) {
  auto k = encode_window_key(w0, "alice");
  auto d = decode_window_key(k);
  CAF_REQUIRE(d.has_value());
  CAF_CHECK_EQUAL(d->first, w0);
  CAF_CHECK_EQUAL(d->second, "alice");
  CAF_CHECK(encode_window_key(w0, "zz") < encode_window_key(w0 + 1, "a"));
  CAF_CHECK(!decode_window_key(stream_time_key()).has_value());
  CAF_CHECK(std::string{stream_time_key()} < encode_window_key(0, ""));
  CAF_CHECK_EQUAL(window_starts(window_spec::tumbling(1min), w0 + 59'999),
                  std::vector<int64_t>{w0});
  CAF_CHECK_EQUAL(window_starts(window_spec::hopping(1min, 30s), 10'000),
                  std::vector<int64_t>{0}); // no window starts before 0
}

CAF_TEST(the README per minute example counts clicks per user and minute) {
  group_graph<> g{"minutes"};
  g.windowed("per-minute",
             partita::window_spec::tumbling(std::chrono::minutes{1})
               .with_grace(std::chrono::seconds{10}),
             int64_codec{}, "clicks-per-minute");
  g.input("clicks", string_codec{}, [](context<>& ctx, const std::string&) {
    ctx.update_windows<int64_t>([](std::optional<int64_t> n) { return n.value_or(0) + 1; });
  });
  tester tt{g, cfg()};
  auto out = tt.output("clicks-per-minute");
  click(tt, "alice", w0 + 1'000);
  click(tt, "alice", w0 + 2'000);
  click(tt, "bob", w0 + minute + 10'000);
  CAF_CHECK_EQUAL(results(tt, out), (std::vector<result>{{"alice", 2, w0, w0 + minute}}));
  CAF_CHECK_EQUAL(tt.windows<int64_t>("per-minute", "alice").size(), 1u);
}
