#define CAF_SUITE actors.timers

// Timers in virtual time, through partita::tester, which fires them with the partition actor's
// own code (engine_context, fire_timer): order, cancellation, durability with the batch, and
// the errors a user meets.

#include "actors/timer_format.hpp"
#include "runtime/tester.hpp"
#include "test/support/errors.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;
using namespace std::chrono_literals;

namespace {

using partita::test::contains;
using partita::test::error_of;

/// Each "remind" record schedules a reminder after the number of ms it carries; each reminder
/// emits "<key>:<payload>@<now>" to "fired". A "cancel" record cancels the timer whose id it
/// carries. The table counts reminders fired per key.
group_graph<int64_codec> reminders() {
  group_graph<int64_codec> g{"reminders"};
  g.output("fired", string_codec{});
  g.output("ids", string_codec{});
  g.input("remind", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& ms) {
    auto id = ctx.schedule(std::chrono::milliseconds{ms}, std::string{"r"} + std::to_string(ms));
    ctx.emit("ids", ctx.key(), id.to_string());
  });
  g.input("cancel", string_codec{}, [](context<int64_codec>& ctx, const std::string& id) {
    ctx.emit("ids", ctx.key(), ctx.cancel_timer(timer_id::parse(id)) ? "cancelled" : "none");
  });
  g.on_timer(string_codec{}, [](context<int64_codec>& ctx, const std::string& payload) {
    ctx.set_value(ctx.value().value_or(0) + 1);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 ctx.now().time_since_epoch()).count();
    ctx.emit("fired", ctx.key(), std::string{ctx.key()} + ":" + payload + "@" +
                                   std::to_string(now));
  });
  return g;
}

constexpr int64_t t0 = 1'700'000'000'000;

tester_config at_t0(poison_policy policy = poison_policy::dead_letter) {
  tester_config cfg;
  cfg.start_ms = t0;
  cfg.on_poison = policy;
  cfg.poison_retries = 1;
  return cfg;
}

std::vector<std::string> drain(tester& tt, tester::queue& q) {
  std::vector<std::string> out;
  while (auto r = q.next())
    out.push_back(tt.value_of<std::string>(*r));
  return out;
}

} // namespace

CAF_TEST(timers fire at their time in due order each once with the key context) {
  tester tt{reminders(), at_t0()};
  auto fired = tt.output("fired");
  tt.consume("remind", "b", int64_t{300});
  tt.consume("remind", "a", int64_t{100});
  tt.consume("remind", "c", int64_t{200});
  tt.consume("remind", "a", int64_t{250});
  CAF_CHECK_EQUAL(tt.pending_timers("reminders"), 4u);
  tt.advance(99ms);
  CAF_CHECK_EQUAL(fired.size(), 0u);
  tt.advance(1ms);
  auto first = drain(tt, fired);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first[0], "a:r100@" + std::to_string(t0 + 100));
  tt.advance(1000ms);
  auto rest = drain(tt, fired);
  std::vector<std::string> expected{"c:r200@" + std::to_string(t0 + 200),
                                    "a:r250@" + std::to_string(t0 + 250),
                                    "b:r300@" + std::to_string(t0 + 300)};
  CAF_CHECK_EQUAL(rest, expected);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("reminders-table", "a"), 2);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("reminders-table", "b"), 1);
  CAF_CHECK_EQUAL(tt.pending_timers("reminders"), 0u);
  tt.advance(10s);
  CAF_CHECK_EQUAL(fired.size(), 0u); // never twice
}

CAF_TEST(a timer with no delay fires at once and a cancelled timer never) {
  tester tt{reminders(), at_t0()};
  auto fired = tt.output("fired");
  auto ids = tt.output("ids");
  tt.consume("remind", "now", int64_t{0});
  CAF_CHECK_EQUAL(drain(tt, fired), std::vector<std::string>{"now:r0@" + std::to_string(t0)});
  ids.seek_to_end();
  tt.consume("remind", "later", int64_t{500});
  auto id = tt.value_of<std::string>(*ids.next());
  CAF_CHECK_EQUAL(timer_id::parse(id).due_ms, t0 + 500);
  tt.consume("cancel", "later", id);
  CAF_CHECK_EQUAL(tt.value_of<std::string>(*ids.next()), "cancelled");
  tt.consume("cancel", "later", id);
  CAF_CHECK_EQUAL(tt.value_of<std::string>(*ids.next()), "none");
  tt.advance(1h);
  CAF_CHECK_EQUAL(fired.size(), 0u);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("reminders-table", "later"), std::nullopt);
}

CAF_TEST(a timer set by a record that fails does not exist) {
  group_graph<int64_codec> g{"flaky"};
  g.input("in", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& v) {
    ctx.schedule(10ms, std::string{"set"});
    if (v < 0)
      throw std::runtime_error("negative");
  });
  g.on_timer(string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  tester tt{g, at_t0()};
  auto dlq = tt.output("flaky-dlq");
  tt.consume("in", "k", int64_t{-1});
  CAF_CHECK_EQUAL(dlq.size(), 1u);
  CAF_CHECK_EQUAL(tt.pending_timers("flaky"), 0u);
  tt.consume("in", "k", int64_t{1});
  CAF_CHECK_EQUAL(tt.pending_timers("flaky"), 1u);
  tt.advance(1s);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("flaky-table", "k"), 1);
}

CAF_TEST(timers scheduled by a timer fire in the same advance and a failing timer is dead lettered) {
  group_graph<int64_codec> g{"chain"};
  g.input("start", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& n) {
    ctx.schedule(100ms, n);
  });
  g.on_timer(int64_codec{}, [](context<int64_codec>& ctx, const int64_t& left) {
    if (left == 99)
      throw std::runtime_error("the bad one");
    ctx.set_value(ctx.value().value_or(0) + 1);
    if (left > 1)
      ctx.schedule(100ms, left - 1);
  });
  tester tt{g, at_t0()};
  auto dlq = tt.output("chain-dlq");
  tt.consume("start", "k", int64_t{5});
  tt.consume("start", "bad", int64_t{99});
  tt.advance(450ms); // fires at 100, 200, 300, 400
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("chain-table", "k"), 4);
  tt.advance(1s);
  CAF_CHECK_EQUAL(tt.table_value<int64_t>("chain-table", "k"), 5);
  CAF_CHECK_EQUAL(tt.pending_timers("chain"), 0u);
  CAF_REQUIRE_EQUAL(dlq.size(), 1u);
  auto dead = *dlq.next();
  CAF_CHECK_EQUAL(dead.key, "bad");
  CAF_CHECK_EQUAL(dead.header_value("partita.topic"), std::optional<std::string>{"chain-timers"});
  CAF_CHECK(contains(dead.header_value("partita.error").value_or(""), "the bad one"));
}

CAF_TEST(bad timer input gets clear errors) {
  // No on_timer: schedule names the fix.
  group_graph<int64_codec> none{"none"};
  none.input("in", int64_codec{}, [](context<int64_codec>& ctx, const int64_t&) {
    ctx.schedule(1s, std::string{"x"});
  });
  tester a{none, at_t0(poison_policy::stop_partition)};
  auto e = error_of([&] { a.consume("in", "k", int64_t{1}); });
  CAF_CHECK(contains(e, "graph.on_timer"));
  // A payload of the wrong type, and a negative delay.
  group_graph<int64_codec> g{"typed"};
  g.input("in", int64_codec{}, [](context<int64_codec>& ctx, const int64_t& v) {
    if (v == 1)
      ctx.schedule(1s, std::string{"not an int"});
    else
      ctx.schedule(std::chrono::milliseconds{-5}, int64_t{1});
  });
  g.on_timer(int64_codec{}, [](context<int64_codec>&, const int64_t&) {});
  tester b{g, at_t0(poison_policy::stop_partition)};
  e = error_of([&] { b.consume("in", "k", int64_t{1}); });
  CAF_CHECK(contains(e, "typed-timers") && contains(e, "int64"));
  e = error_of([&] { b.consume("in", "k", int64_t{2}); });
  CAF_CHECK(contains(e, "negative delay"));
  CAF_CHECK(contains(error_of([&] { b.advance(-1ms); }), "negative"));
  CAF_CHECK(contains(error_of([] { timer_id::parse("12-x"); }), "not a timer id"));
  CAF_CHECK(contains(error_of([&] { g.on_timer(int64_codec{}, [](auto&, const int64_t&) {}); }),
                     "declared twice"));
  // The timers' changelog cannot be an output.
  group_graph<int64_codec> clash{"clash"};
  clash.output("clash-timers", int64_codec{});
  clash.input("in", int64_codec{}, [](context<int64_codec>&, const int64_t&) {});
  clash.on_timer(int64_codec{}, [](context<int64_codec>&, const int64_t&) {});
  CAF_CHECK(contains(error_of([&] { clash.definition().validate(); }), "changelog of the group's timers"));
}

CAF_TEST(timer keys sort in firing order and round trip) {
  timer_id early{t0, 7};
  timer_id late{t0 + 1, 1};
  timer_id before_1970{-5, 3};
  CAF_CHECK(encode_timer_key(early) < encode_timer_key(late));
  CAF_CHECK(encode_timer_key(before_1970) < encode_timer_key(early));
  CAF_CHECK(decode_timer_key(encode_timer_key(before_1970)) == before_1970);
  CAF_CHECK(!decode_timer_key(owner_marker(1, 2)));
  CAF_CHECK(is_owner_marker(owner_marker(1, 2)));
  auto v = decode_timer_value(encode_timer_value(std::string{"k\0y", 3}, "payload"));
  CAF_CHECK_EQUAL(v.key, std::string("k\0y", 3));
  CAF_CHECK_EQUAL(v.payload, "payload");
  CAF_CHECK_EQUAL(timer_id::parse(early.to_string()), early);
  CAF_CHECK_EQUAL(timer_number("a/0/1", 0), timer_number("a/0/1", 0));
  CAF_CHECK_NOT_EQUAL(timer_number("a/0/1", 0), timer_number("a/0/1", 1));
}

namespace {

// The session example of the README's "Time" section, as it is there.
struct session_codec { // "<clicks> <timer id>"
  using value_type = std::pair<int64_t, std::string>;
  static constexpr const char* name = "session";
  std::string encode(const value_type& v) const { return std::to_string(v.first) + " " + v.second; }
  value_type decode(std::string_view b) const {
    auto space = b.find(' ');
    return {std::stoll(std::string{b.substr(0, space)}), std::string{b.substr(space + 1)}};
  }
};

group_graph<session_codec> sessions() {
  group_graph<session_codec> g{"sessions"};
  g.output("sessions-closed", int64_codec{});
  g.input("clicks", string_codec{}, [](context<session_codec>& ctx, const std::string&) {
    auto s = ctx.value().value_or(session_codec::value_type{0, ""});
    if (!s.second.empty())
      ctx.cancel_timer(partita::timer_id::parse(s.second)); // the session goes on
    auto timer = ctx.schedule(std::chrono::minutes{30}, int64_t{0});
    ctx.set_value({s.first + 1, timer.to_string()});
  });
  g.on_timer(int64_codec{}, [](context<session_codec>& ctx, const int64_t&) {
    ctx.emit("sessions-closed", ctx.key(), ctx.value()->first); // clicks in the session
    ctx.erase();
  });
  return g;
}

} // namespace

CAF_TEST(the README session example closes a session 30 minutes after its last click) {
  tester tt{sessions(), at_t0()};
  auto closed = tt.output("sessions-closed");
  tt.consume("clicks", "alice", std::string{"/home"});
  tt.advance(20min);
  tt.consume("clicks", "alice", std::string{"/cart"});
  tt.advance(20min); // 40 min after the first click, 20 after the last: still open
  CAF_CHECK_EQUAL(closed.size(), 0u);
  CAF_CHECK_EQUAL(tt.pending_timers("sessions"), 1u);
  tt.advance(11min);
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  auto r = *closed.next();
  CAF_CHECK_EQUAL(r.key, "alice");
  CAF_CHECK_EQUAL(tt.value_of<int64_t>(r), 2);
  CAF_CHECK(!tt.table_bytes("sessions-table", "alice"));
  CAF_CHECK_EQUAL(tt.pending_timers("sessions"), 0u);
}

CAF_TEST(a punctuation runs over every key at each interval and expires keys) {
  // The table keeps when each key was last seen; every minute, keys unseen for 5 expire.
  group_graph<int64_codec> g{"expiry"};
  g.output("expired", int64_codec{});
  g.input("seen", string_codec{}, [](context<int64_codec>& ctx, const std::string&) {
    ctx.set_value(std::chrono::duration_cast<std::chrono::milliseconds>(
                    ctx.now().time_since_epoch()).count());
  });
  g.every(std::chrono::minutes{1}, [](context<int64_codec>& ctx) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 ctx.now().time_since_epoch()).count();
    if (now - *ctx.value() > 5 * 60'000) {
      ctx.emit("expired", ctx.key(), *ctx.value());
      ctx.erase();
    }
  });
  tester tt{g, at_t0()};
  auto expired = tt.output("expired");
  tt.consume("seen", "old", std::string{"x"});
  tt.advance(3min);
  tt.consume("seen", "new", std::string{"x"});
  tt.advance(3min); // t0 + 6 min: "old" unseen for 6 min, expired at the 6th minute's run
  CAF_REQUIRE_EQUAL(expired.size(), 1u);
  auto r = *expired.next();
  CAF_CHECK_EQUAL(r.key, "old");
  CAF_CHECK_EQUAL(tt.value_of<int64_t>(r), t0);
  CAF_CHECK(!tt.table_bytes("expiry-table", "old"));
  CAF_CHECK(tt.table_bytes("expiry-table", "new").has_value());
  tt.advance(3min); // t0 + 9 min: "new" unseen for 6
  CAF_CHECK_EQUAL(expired.size(), 1u);
  CAF_CHECK(!tt.table_bytes("expiry-table", "new"));
  // Bad input: a zero interval, and a punctuation without a table to go over.
  group_graph<int64_codec> zero{"zero"};
  zero.input("in", int64_codec{}, [](context<int64_codec>&, const int64_t&) {});
  zero.every(std::chrono::milliseconds{0}, [](context<int64_codec>&) {});
  CAF_CHECK(contains(error_of([&] { zero.definition().validate(); }), "at least 1 ms"));
  group_graph<> stateless{"stateless"};
  stateless.input("in", int64_codec{}, [](context<>&, const int64_t&) {});
  stateless.every(std::chrono::seconds{1}, [](context<>&) {});
  CAF_CHECK(contains(error_of([&] { stateless.definition().validate(); }), "table codec"));
}
