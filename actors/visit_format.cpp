#include "actors/visit_format.hpp"

#include <random>
#include <stdexcept>

namespace partita {

namespace {

void put(std::string& out, std::string_view field) {
  auto n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(field);
}

/// Reads the fields of `bytes` one after another.
class fields {
public:
  fields(std::string_view bytes, const char* what) : rest_(bytes), what_(what) {}
  std::string next() {
    if (rest_.size() < 4)
      fail();
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n = n << 8 | static_cast<unsigned char>(rest_[i]);
    if (rest_.size() - 4 < n)
      fail();
    std::string out{rest_.substr(4, n)};
    rest_.remove_prefix(4 + n);
    return out;
  }
  int64_t number() {
    auto text = next();
    try {
      std::size_t used = 0;
      auto n = std::stoll(text, &used);
      if (used == text.size())
        return n;
    } catch (const std::exception&) {
    }
    fail();
  }

private:
  [[noreturn]] void fail() const {
    throw std::invalid_argument(std::string{"not a "} + what_ + " (Partita's visits)");
  }
  std::string_view rest_;
  const char* what_;
};

constexpr std::string_view progress_prefix{"\xff" "partita.visit:"};

} // namespace

std::string encode_visit_start(const visit_start& s) {
  std::string out{"S"};
  put(out, s.name);
  put(out, s.value);
  return out;
}

std::string encode_visit_done(const visit_done& d) {
  std::string out{"D"};
  put(out, std::to_string(d.partition));
  put(out, std::to_string(d.visited));
  put(out, d.error);
  return out;
}

visit_record visit_record_kind(std::string_view value) {
  if (!value.empty() && value[0] == 'S')
    return visit_record::start;
  if (!value.empty() && value[0] == 'D')
    return visit_record::done;
  throw std::invalid_argument("not a visit record: it starts with neither 'S' nor 'D'; only "
                              "processor::visit_all writes to a group's visits topic");
}

visit_start decode_visit_start(std::string_view id, std::string_view value) {
  fields f{value.substr(1), "visit start record"};
  visit_start s;
  s.id = std::string{id};
  s.name = f.next();
  s.value = f.next();
  return s;
}

visit_done decode_visit_done(std::string_view id, std::string_view value) {
  fields f{value.substr(1), "visit done record"};
  visit_done d;
  d.id = std::string{id};
  d.partition = static_cast<int32_t>(f.number());
  d.visited = f.number();
  d.error = f.next();
  return d;
}

std::string visit_progress_key(std::string_view id) {
  return std::string{progress_prefix} + std::string{id};
}

std::string_view visit_progress_prefix() { return progress_prefix; }

bool is_visit_progress(std::string_view key) { return key.starts_with(progress_prefix); }

std::string encode_visit_progress(const visit_progress& p) {
  std::string out;
  put(out, p.visit.name);
  put(out, p.visit.value);
  put(out, p.begun ? "1" : "0");
  put(out, p.after);
  put(out, std::to_string(p.visited));
  return out;
}

visit_progress decode_visit_progress(std::string_view key, std::string_view value) {
  if (!is_visit_progress(key))
    throw std::invalid_argument("not a visit's progress key");
  fields f{value, "visit's progress"};
  visit_progress p;
  p.visit.id = std::string{key.substr(progress_prefix.size())};
  p.visit.name = f.next();
  p.visit.value = f.next();
  p.begun = f.next() == "1";
  p.after = f.next();
  p.visited = f.number();
  return p;
}

std::string new_visit_id() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  static constexpr char hex[] = "0123456789abcdef";
  auto n = dist(rd);
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, n >>= 4)
    out[static_cast<std::size_t>(i)] = hex[n & 0xf];
  return out;
}

} // namespace partita
