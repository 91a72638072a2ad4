#define CAF_SUITE runtime.group_graph

#include "runtime/group_graph.hpp"

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
  }
  return "";
}

auto count = [](auto& ctx, const std::string&) { ctx.set_value(ctx.value().value_or(0) + 1); };

/// A record context over a map, to run behaviors without the engine.
struct fake_record final : record_context {
  const graph_definition* def = nullptr;
  std::string k = "alice";
  std::string v;
  std::string t = "clicks";
  std::map<std::string, std::string> table;
  std::vector<std::tuple<std::string, std::string, std::string>> produced;

  std::string_view key() const override { return k; }
  std::string_view payload() const override { return v; }
  const std::string& topic() const override { return t; }
  int32_t partition() const override { return 0; }
  int64_t offset() const override { return 0; }
  int64_t timestamp() const override { return -1; }
  std::vector<header> headers() const override { return {}; }
  std::optional<std::string> table_get() override {
    auto i = table.find(k);
    return i == table.end() ? std::nullopt : std::optional<std::string>{i->second};
  }
  void table_put(std::string bytes) override { table[k] = std::move(bytes); }
  void table_erase() override { table.erase(k); }
  void produce(const output_definition& out, std::string_view key, std::string b) override {
    produced.emplace_back(out.topic, std::string{key}, std::move(b));
  }
  std::map<std::pair<std::string, std::string>, std::string> tables; // (topic, key) -> value
  std::optional<std::string> table_read(const table_definition& t, std::string_view key) override {
    auto i = tables.find({t.topic, std::string{key}});
    return i == tables.end() ? std::nullopt : std::optional<std::string>{i->second};
  }
  const graph_definition& graph() const override { return *def; }
};

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
  fake_record rec;
  rec.def = &g.definition();
  for (int i = 0; i < 3; ++i)
    g.definition().inputs[0].handle(rec);
  CAF_CHECK_EQUAL(rec.table["alice"], "3");
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
  fake_record rec;
  rec.def = &g.definition();
  const auto& in = g.definition().inputs[0];
  rec.v = "declared";
  in.handle(rec);
  rec.v = "wide";
  in.handle(rec);
  CAF_REQUIRE_EQUAL(rec.produced.size(), 2u);
  CAF_CHECK_EQUAL(std::get<2>(rec.produced[0]), "hello");
  CAF_CHECK_EQUAL(std::get<2>(rec.produced[1]), "5");
  rec.v = "other";
  CAF_CHECK(error_of([&] { in.handle(rec); }).find("'undeclared', which is not a declared "
                                                  "output") != std::string::npos);
  rec.v = "wrong";
  CAF_CHECK(error_of([&] { in.handle(rec); }).find("does not fit the int64 codec") !=
            std::string::npos);
}

CAF_TEST(an undecodable record is a decode error) {
  group_graph<int64_codec> g{"g"};
  g.input("numbers", int64_codec{}, [](auto& ctx, const int64_t& v) { ctx.set_value(v); });
  fake_record rec;
  rec.def = &g.definition();
  rec.v = "not-a-number";
  bool threw = false;
  try {
    g.definition().inputs[0].handle(rec);
  } catch (const decode_error&) {
    threw = true;
  }
  CAF_CHECK(threw);
  CAF_CHECK(rec.table.empty());
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
  g.definition().validate();
  fake_record rec;
  rec.def = &g.definition();
  rec.tables[{"users-table", "alice"}] = "Alice";
  rec.tables[{"prices", "book"}] = "12";
  rec.v = "book";
  g.definition().inputs[0].handle(rec);
  rec.k = "bob";
  rec.v = "pen";
  g.definition().inputs[0].handle(rec);
  CAF_CHECK_EQUAL(seen, (std::vector<std::string>{"Alice:12", "?:-1"}));
  rec.tables[{"prices", "pen"}] = "twelve";
  CAF_CHECK_EQUAL(error_of([&] { g.definition().inputs[0].handle(rec); }),
                  "lookup table prices, key 'pen': int64 codec: not a decimal 64-bit integer: "
                  "'twelve'");
}

CAF_TEST(a table read must be declared with its value type) {
  group_graph<> g{"orders"};
  g.join("users-table", string_codec{}).input("orders", string_codec{}, [](auto& ctx, auto&) {
    if (ctx.key() == "undeclared")
      ctx.template lookup<std::string>("users-table", "x");
    else
      ctx.template join<int64_t>("users-table");
  });
  fake_record rec;
  rec.def = &g.definition();
  CAF_CHECK_EQUAL(error_of([&] { g.definition().inputs[0].handle(rec); }),
                  "ctx.join<T>(\"users-table\"): T is not the value type of the table's string "
                  "codec");
  rec.k = "undeclared";
  CAF_CHECK_EQUAL(error_of([&] { g.definition().inputs[0].handle(rec); }),
                  "group 'orders': ctx.lookup(\"users-table\") reads a table the graph does not "
                  "declare; add graph.lookup(\"users-table\", codec)");
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
