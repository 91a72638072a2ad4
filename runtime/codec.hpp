#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace partita {

/// A record's bytes that a codec cannot turn into a value.
class decode_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A codec turns values into bytes and back. Write your own by giving a type these members:
///   using value_type = T;
///   std::string encode(const T&) const;
///   T decode(std::string_view bytes) const;   // throws decode_error on bad bytes
///   static constexpr const char* name = "...";
template <class C>
concept codec = requires(const C& c, std::string_view bytes, const typename C::value_type& v) {
  { c.encode(v) } -> std::convertible_to<std::string>;
  { c.decode(bytes) } -> std::convertible_to<typename C::value_type>;
  { C::name } -> std::convertible_to<const char*>;
};

/// Bytes as they are.
struct bytes_codec {
  using value_type = std::string;
  static constexpr const char* name = "bytes";
  std::string encode(const std::string& v) const { return v; }
  std::string decode(std::string_view b) const { return std::string{b}; }
};

/// Text (UTF-8, not checked), stored as it is.
struct string_codec {
  using value_type = std::string;
  static constexpr const char* name = "string";
  std::string encode(const std::string& v) const { return v; }
  std::string decode(std::string_view b) const { return std::string{b}; }
};

/// A 64-bit integer written as decimal text, as Goka's codec.Int64 does, so that any client can
/// read the topic.
struct int64_codec {
  using value_type = int64_t;
  static constexpr const char* name = "int64";
  std::string encode(int64_t v) const { return std::to_string(v); }
  int64_t decode(std::string_view b) const {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), v);
    if (b.empty() || ec != std::errc{} || end != b.data() + b.size())
      throw decode_error("int64 codec: not a decimal 64-bit integer: '" +
                         std::string{b.substr(0, 64)} + "'");
    return v;
  }
};

/// Any JSON document (nlohmann::json).
struct json_codec {
  using value_type = nlohmann::json;
  static constexpr const char* name = "json";
  std::string encode(const nlohmann::json& v) const { return v.dump(); }
  nlohmann::json decode(std::string_view b) const {
    try {
      return nlohmann::json::parse(b);
    } catch (const nlohmann::json::exception& e) {
      throw decode_error(std::string{"json codec: "} + e.what());
    }
  }
};

/// A type T with nlohmann's to_json/from_json, stored as JSON.
template <class T>
struct json_codec_of {
  using value_type = T;
  static constexpr const char* name = "json";
  std::string encode(const T& v) const { return nlohmann::json(v).dump(); }
  T decode(std::string_view b) const {
    try {
      return nlohmann::json::parse(b).get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw decode_error(std::string{"json codec: "} + e.what());
    }
  }
};

} // namespace partita
