#include "actors/timer_format.hpp"

#include <stdexcept>

namespace partita {

namespace {

void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  return v;
}

constexpr std::string_view marker_prefix{"\0partita.owner:", 15};

} // namespace

std::string encode_timer_key(const timer_id& id) {
  std::string out;
  out.reserve(16);
  // Offset binary: negative due times (before 1970) still sort first.
  put_be64(out, static_cast<uint64_t>(id.due_ms) ^ (uint64_t{1} << 63));
  put_be64(out, id.n);
  return out;
}

std::optional<timer_id> decode_timer_key(std::string_view key) {
  if (key.size() != 16)
    return std::nullopt;
  return timer_id{static_cast<int64_t>(get_be64(key) ^ (uint64_t{1} << 63)),
                  get_be64(key.substr(8))};
}

std::string encode_timer_value(std::string_view key, std::string_view payload) {
  std::string out;
  out.reserve(8 + key.size() + payload.size());
  put_be64(out, key.size());
  out.append(key);
  out.append(payload);
  return out;
}

timer_entry decode_timer_value(std::string_view bytes) {
  if (bytes.size() < 8)
    throw std::invalid_argument("a timer's value is cut short");
  auto n = get_be64(bytes);
  if (n > bytes.size() - 8)
    throw std::invalid_argument("a timer's value is cut short");
  return timer_entry{std::string{bytes.substr(8, n)}, std::string{bytes.substr(8 + n)}};
}

std::string owner_marker(int64_t store, int64_t epoch) {
  return std::string{marker_prefix} + std::to_string(store) + "." + std::to_string(epoch);
}

bool is_owner_marker(std::string_view key) {
  return key.starts_with(marker_prefix);
}

uint64_t timer_number(std::string_view source, uint64_t n) {
  uint64_t h = 1469598103934665603ull; // FNV-1a, 64 bits
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (char c : source)
    mix(static_cast<unsigned char>(c));
  for (int i = 0; i < 8; ++i)
    mix(static_cast<unsigned char>((n >> (8 * i)) & 0xff));
  return h;
}

} // namespace partita
