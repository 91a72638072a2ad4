#include "actors/changelog_format.hpp"

#include <charconv>
#include <stdexcept>

namespace partita {

namespace {

int64_t parse_int(std::string_view text, const char* what) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw std::invalid_argument(std::string{"bad "} + what + " '" + std::string{text} + "'");
  return value;
}

std::optional<std::string_view> header_value(rd_kafka_headers_t* hdrs, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (hdrs == nullptr || rd_kafka_header_get_last(hdrs, name, &value, &size) != 0)
    return std::nullopt;
  return std::string_view{static_cast<const char*>(value), value ? size : 0};
}

// Pending batches: fixed-width lengths, a flag byte before every optional string.
void put_u64(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i, v >>= 8)
    bytes[i] = static_cast<char>(v & 0xff);
  out.append(bytes, sizeof bytes);
}
void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}
void put_opt(std::string& out, const std::optional<std::string>& s) {
  out.push_back(s ? '\1' : '\0');
  if (s)
    put_str(out, *s);
}

struct reader {
  std::string_view in;
  uint64_t u64() {
    if (in.size() < 8)
      throw std::invalid_argument("pending batch cut short");
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
    in.remove_prefix(8);
    return v;
  }
  std::string str() {
    auto n = u64();
    if (in.size() < n)
      throw std::invalid_argument("pending batch cut short");
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
  std::optional<std::string> opt() {
    if (in.empty())
      throw std::invalid_argument("pending batch cut short");
    bool present = in.front() != '\0';
    in.remove_prefix(1);
    return present ? std::optional{str()} : std::nullopt;
  }
};

} // namespace

std::string encode_writer(writer_id w) {
  return std::to_string(w.store) + "." + std::to_string(w.epoch) + "." + std::to_string(w.base);
}

std::string encode_checkpoint(const checkpoint& c) {
  return c.topic + "=" + std::to_string(c.offset);
}

changelog_record parse_changelog_record(const rd_kafka_message_t* m) {
  changelog_record r;
  r.offset = m->offset;
  if (m->key != nullptr)
    r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr)
    r.value.emplace(static_cast<const char*>(m->payload), m->len);
  if (r.key.starts_with(legacy_marker_prefix)) {
    r.legacy_marker = true;
    r.vouches = checkpoint{r.key.substr(legacy_marker_prefix.size()),
                           r.value ? parse_int(*r.value, "checkpoint offset") : -1};
    return r;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return r;
  if (auto w = header_value(hdrs, writer_header)) {
    auto dot = w->find('.');
    if (dot == std::string_view::npos)
      throw std::invalid_argument("bad partita.writer header '" + std::string{*w} + "'");
    auto rest = w->substr(dot + 1);
    auto second = rest.find('.');
    r.writer.store = parse_int(w->substr(0, dot), "writer");
    r.writer.epoch = parse_int(rest.substr(0, second), "epoch");
    if (second != std::string_view::npos)
      r.writer.base = parse_int(rest.substr(second + 1), "base");
  }
  if (auto c = header_value(hdrs, checkpoint_header)) {
    auto eq = c->rfind('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("bad partita.checkpoint header '" + std::string{*c} + "'");
    r.vouches = checkpoint{std::string{c->substr(0, eq)},
                           parse_int(c->substr(eq + 1), "checkpoint offset")};
    if (auto n = header_value(hdrs, batch_header))
      r.batch = parse_int(*n, "batch number");
    if (auto then = header_value(hdrs, then_header))
      r.then = std::string{*then};
  }
  return r;
}

std::string pending_batch::encode() const {
  std::string out;
  std::size_t size = topic.size() + 32;
  for (const auto& c : changes)
    size += c.key.size() + (c.before ? c.before->size() : 0) + (c.after ? c.after->size() : 0) +
            26;
  for (const auto& o : outputs)
    size += o.topic.size() + o.key.size() + o.value.size() + 32 + 32 * o.headers.size();
  out.reserve(size);
  put_str(out, topic);
  put_u64(out, static_cast<uint64_t>(last_offset));
  put_u64(out, changes.size());
  for (const auto& c : changes) {
    put_str(out, c.key);
    put_opt(out, c.before);
    put_opt(out, c.after);
  }
  put_u64(out, outputs.size());
  for (const auto& o : outputs) {
    put_str(out, o.topic);
    put_str(out, o.key);
    put_str(out, o.value);
    put_u64(out, o.headers.size());
    for (const auto& h : o.headers) {
      put_str(out, h.name);
      put_str(out, h.value);
    }
  }
  // The side tables' changes, absent in the records of earlier versions: as many lists as
  // reach the last one that is not empty.
  std::size_t lists = side_count;
  while (lists > 0 && side_changes[lists - 1].empty())
    --lists;
  for (std::size_t s = 0; s < lists; ++s) {
    put_u64(out, side_changes[s].size());
    for (const auto& c : side_changes[s]) {
      put_str(out, c.key);
      put_opt(out, c.before);
      put_opt(out, c.after);
    }
  }
  return out;
}

pending_batch pending_batch::decode(uint64_t seq, std::string_view bytes) {
  reader in{bytes};
  pending_batch b;
  b.seq = seq;
  b.topic = in.str();
  b.last_offset = static_cast<int64_t>(in.u64());
  for (auto n = in.u64(); n > 0; --n) {
    auto key = in.str();
    auto before = in.opt();
    auto after = in.opt();
    b.changes.push_back({std::move(key), std::move(before), std::move(after)});
  }
  for (auto n = in.u64(); n > 0; --n) {
    output o;
    o.topic = in.str();
    o.key = in.str();
    o.value = in.str();
    for (auto h = in.u64(); h > 0; --h) {
      auto name = in.str();
      o.headers.push_back({std::move(name), in.str()});
    }
    b.outputs.push_back(std::move(o));
  }
  for (std::size_t s = 0; s < side_count && !in.in.empty(); ++s)
    for (auto n = in.u64(); n > 0; --n) {
      auto key = in.str();
      auto before = in.opt();
      auto after = in.opt();
      b.side_changes[s].push_back({std::move(key), std::move(before), std::move(after)});
    }
  if (!in.in.empty())
    throw std::invalid_argument("pending batch has trailing bytes");
  return b;
}

} // namespace partita
