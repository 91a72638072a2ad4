#define CAF_SUITE runtime.group_graph

#include "runtime/group_graph.hpp"
#include "runtime/tester.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;

namespace {

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const graph_error& e) {
    return e.what();
  } catch (const decode_error& e) {
    return e.what();
  } catch (const record_error& e) {
    return e.what();
  }
  return "";
}

auto count = [](auto& ctx, const std::string&) { ctx.set_value(ctx.value().value_or(0) + 1); };

/// A tester that reports a failing record at once (record_error) instead of dead-lettering it.
tester_config failing_fast() {
  tester_config cfg;
  cfg.on_poison = poison_policy::stop_partition;
  return cfg;
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(a graph needs an input) {
  group_graph<int64_codec> g{"clickcount"};
  CAF_CHECK_EQUAL(error_of([&] { g.definition().validate(); }),
                  "group 'clickcount' has no input; add one with .input(topic, codec, "
                  "behavior)");
}

CAF_TEST(names must be valid topic names) {
  group_graph<int64_codec> bad_group{"click count"};
  bad_group.input("clicks", string_codec{}, count);
  CAF_CHECK(error_of([&] { bad_group.definition().validate(); }).find("is not valid") !=
            std::string::npos);
  group_graph<int64_codec> bad_topic{"g"};
  bad_topic.input("clicks/x", string_codec{}, count);
  CAF_CHECK(error_of([&] { bad_topic.definition().validate(); }).find("not a valid topic") !=
            std::string::npos);
}

CAF_TEST(an input is declared once and never the group table) {
  group_graph<int64_codec> twice{"g"};
  twice.input("clicks", string_codec{}, count).input("clicks", string_codec{}, count);
  CAF_CHECK(error_of([&] { twice.definition().validate(); }).find("declared twice") !=
            std::string::npos);
  group_graph<int64_codec> own{"g"};
  own.input("g-table", string_codec{}, count);
  CAF_CHECK(error_of([&] { own.definition().validate(); }).find("changelog") !=
            std::string::npos);
}

CAF_TEST(a valid graph names its topics) {
  group_graph<int64_codec> g{"clickcount"};
  g.input("clicks", string_codec{}, count)
    .output("alerts", string_codec{})
    .loop(int64_codec{}, [](auto&, const int64_t&) {});
  const auto& def = g.definition();
  def.validate();
  CAF_CHECK(def.persist);
  CAF_CHECK_EQUAL(def.table_topic(), "clickcount-table");
  CAF_CHECK_EQUAL(def.loop_topic(), "clickcount-loop");
  CAF_CHECK_EQUAL(def.input_topics().size(), 2u);
  CAF_CHECK_EQUAL(def.outputs.size(), 2u);
}

CAF_TEST(behaviors read and write the table through the codec) {
  group_graph<int64_codec> g{"clickcount"};
  g.input("clicks", string_codec{}, count);
  tester tt{g};
  for (int i = 0; i < 3; ++i)
    tt.consume("clicks", "alice", "");
  CAF_CHECK_EQUAL(tt.table_bytes("clickcount-table", "alice"), std::optional<std::string>{"3"});
}

CAF_TEST(emits go only to declared outputs with matching types) {
  group_graph<json_codec> g{"g"};
  g.input("clicks", string_codec{}, [](auto& ctx, const std::string& v) {
     if (v == "declared")
       ctx.emit("alerts", ctx.key(), "hello");
     else if (v == "wide")
       ctx.emit("numbers", ctx.key(), 5); // an int into an int64 codec
     else if (v == "wrong")
       ctx.emit("numbers", ctx.key(), std::string{"x"});
     else
       ctx.emit("undeclared", ctx.key(), "x");
   })
    .output("alerts", string_codec{})
    .output("numbers", int64_codec{});
  tester tt{g, failing_fast()};
  auto alerts = tt.output("alerts");
  auto numbers = tt.output("numbers");
  tt.consume("clicks", "alice", "declared");
  tt.consume("clicks", "alice", "wide");
  auto alert = alerts.next();
  auto number = numbers.next();
  CAF_REQUIRE(alert && number);
  CAF_CHECK_EQUAL(alert->value.value_or(""), "hello");
  CAF_CHECK_EQUAL(number->value.value_or(""), "5");
  CAF_CHECK(has(error_of([&] { tt.consume("clicks", "alice", "other"); }),
                "'undeclared', which is not a declared output"));
  CAF_CHECK(has(error_of([&] { tt.consume("clicks", "alice", "wrong"); }),
                "emit to 'numbers': the value's type does not fit the int64 codec"));
  CAF_CHECK_EQUAL(alerts.size() + numbers.size(), 0u);
}

CAF_TEST(an undecodable record is a decode error) {
  group_graph<int64_codec> g{"g"};
  g.input("numbers", int64_codec{}, [](auto& ctx, const int64_t& v) { ctx.set_value(v); });
  tester tt{g, failing_fast()};
  CAF_CHECK(has(error_of([&] { tt.consume_bytes("numbers", "k", "not-a-number"); }),
                "failed: int64 codec: not a decimal 64-bit integer: 'not-a-number'"));
  CAF_CHECK(!tt.table_bytes("g-table", "k"));
}

CAF_TEST(behaviors read joined and looked up tables through their codecs) {
  group_graph<int64_codec> g{"orders"};
  std::vector<std::string> seen;
  g.join("users-table", string_codec{})
    .lookup("prices", int64_codec{})
    .input("orders", string_codec{}, [&](auto& ctx, const std::string& item) {
      auto user = ctx.template join<std::string>("users-table");
      auto price = ctx.template lookup<int64_t>("prices", item);
      seen.push_back(user.value_or("?") + ":" + std::to_string(price.value_or(-1)));
    });
  tester tt{g, failing_fast()};
  tt.set_table_value("users-table", "alice", "Alice");
  tt.set_table_value("prices", "book", 12);
  tt.consume("orders", "alice", "book");
  tt.consume("orders", "bob", "pen");
  CAF_CHECK_EQUAL(seen, (std::vector<std::string>{"Alice:12", "?:-1"}));
  tt.set_table_bytes("prices", "pen", "twelve");
  CAF_CHECK(has(error_of([&] { tt.consume("orders", "bob", "pen"); }),
                "lookup table prices, key 'pen': int64 codec: not a decimal 64-bit integer: "
                "'twelve'"));
}

CAF_TEST(a table read must be declared with its value type) {
  group_graph<> g{"orders"};
  g.join("users-table", string_codec{}).input("orders", string_codec{}, [](auto& ctx, auto&) {
    if (ctx.key() == "undeclared")
      ctx.template lookup<std::string>("users-table", "x");
    else
      ctx.template join<int64_t>("users-table");
  });
  tester tt{g, failing_fast()};
  CAF_CHECK(has(error_of([&] { tt.consume("orders", "alice", ""); }),
                "ctx.join<T>(\"users-table\"): T is not the value type of the table's string "
                "codec"));
  CAF_CHECK(has(error_of([&] { tt.consume("orders", "undeclared", ""); }),
                "group 'orders': ctx.lookup(\"users-table\") reads a table the graph does not "
                "declare; add graph.lookup(\"users-table\", codec)"));
}

CAF_TEST(tables are checked with the graph) {
  auto build = [](auto&& add) {
    group_graph<int64_codec> g{"orders"};
    g.input("orders", string_codec{}, count);
    add(g);
    return error_of([&] { g.definition().validate(); });
  };
  CAF_CHECK_EQUAL(build([](auto& g) { g.join("orders-table", int64_codec{}); }),
                  "group 'orders': join table 'orders-table' is the group's own table; read it "
                  "with ctx.value()");
  CAF_CHECK_EQUAL(build([](auto& g) { g.lookup("orders", string_codec{}); }),
                  "group 'orders': lookup table 'orders' is also an input or an output of the "
                  "group; a table is written by another group (or producer) and only read here");
  CAF_CHECK_EQUAL(build([](auto& g) {
                    g.join("users", string_codec{}).lookup("users", string_codec{});
                  }),
                  "group 'orders': lookup table 'users' is declared twice; declare each table "
                  "once, as a join or a lookup");
  CAF_CHECK_EQUAL(build([](auto& g) { g.lookup("bad/name", string_codec{}); }),
                  "group 'orders': lookup table 'bad/name' is not a valid topic name (1-249 "
                  "characters of [a-zA-Z0-9._-])");
}
