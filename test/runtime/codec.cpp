#define CAF_SUITE runtime.codec

#include "runtime/codec.hpp"

#include <caf/test/unit_test.hpp>

using namespace partita;

namespace {

struct point {
  int x = 0;
  int y = 0;
};
void to_json(nlohmann::json& j, const point& p) {
  j = {{"x", p.x}, {"y", p.y}};
}
void from_json(const nlohmann::json& j, point& p) {
  j.at("x").get_to(p.x);
  j.at("y").get_to(p.y);
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const decode_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

CAF_TEST(int64 is decimal text as Goka writes it) {
  int64_codec c;
  CAF_CHECK_EQUAL(c.encode(42), "42");
  CAF_CHECK_EQUAL(c.encode(-7), "-7");
  CAF_CHECK_EQUAL(c.decode("9223372036854775807"), INT64_MAX);
  CAF_CHECK_EQUAL(c.decode(c.encode(-123456789)), -123456789);
}

CAF_TEST(int64 refuses bytes that are not a decimal number) {
  int64_codec c;
  CAF_CHECK_EQUAL(error_of([&] { c.decode("12abc"); }),
                  "int64 codec: not a decimal 64-bit integer: '12abc'");
  CAF_CHECK(!error_of([&] { c.decode(""); }).empty());
  CAF_CHECK(!error_of([&] { c.decode("99999999999999999999"); }).empty());
}

CAF_TEST(bytes and strings pass through) {
  std::string binary{"a\0b", 3};
  CAF_CHECK_EQUAL(bytes_codec{}.decode(bytes_codec{}.encode(binary)), binary);
  CAF_CHECK_EQUAL(string_codec{}.decode("héllo"), "héllo");
}

CAF_TEST(json round trips documents and types) {
  json_codec j;
  auto doc = j.decode(R"({"user":"alice","n":3})");
  CAF_CHECK_EQUAL(doc["n"].get<int>(), 3);
  CAF_CHECK_EQUAL(j.decode(j.encode(doc)), doc);
  json_codec_of<point> p;
  auto back = p.decode(p.encode(point{1, 2}));
  CAF_CHECK_EQUAL(back.x, 1);
  CAF_CHECK_EQUAL(back.y, 2);
  CAF_CHECK(error_of([&] { j.decode("{not json"); }).rfind("json codec:", 0) == 0);
  CAF_CHECK(!error_of([&] { p.decode(R"({"x":1})"); }).empty());
}

CAF_TEST(user codecs satisfy the concept) {
  static_assert(codec<int64_codec>);
  static_assert(codec<json_codec_of<point>>);
  static_assert(!codec<int>);
  CAF_CHECK(true);
}
