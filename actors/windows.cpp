#include "actors/windows.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace partita {

namespace {

constexpr int64_t no_time = std::numeric_limits<int64_t>::min();
constexpr uint64_t sign_bit = uint64_t{1} << 63;

int64_t floor_to(int64_t t, int64_t step) {
  auto r = t % step;
  return r < 0 ? t - r - step : t - r;
}

std::string ms_text(int64_t ms) {
  return std::to_string(ms) + " ms";
}

} // namespace

std::string encode_window_key(int64_t start, std::string_view key) {
  std::string out(8, '\0');
  auto bits = static_cast<uint64_t>(start) ^ sign_bit;
  for (int i = 7; i >= 0; --i, bits >>= 8)
    out[i] = static_cast<char>(bits & 0xff);
  out.append(key);
  return out;
}

std::optional<std::pair<int64_t, std::string_view>> decode_window_key(std::string_view key) {
  if (key.size() < 8 || key.front() == '\0')
    return std::nullopt; // an engine key (window starts below 0 do not exist)
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits = (bits << 8) | static_cast<unsigned char>(key[i]);
  return std::pair{static_cast<int64_t>(bits ^ sign_bit), key.substr(8)};
}

std::string_view stream_time_key() {
  static const std::string key{"\0partita.stream-time", 20};
  return key;
}

std::vector<int64_t> window_starts(const window_spec& spec, int64_t event_ms) {
  std::vector<int64_t> out;
  auto size = spec.size.count();
  auto advance = spec.advance.count();
  for (auto s = floor_to(event_ms, advance); s > event_ms - size && s >= 0; s -= advance)
    out.push_back(s);
  return out;
}

window_batch::window_batch(const window_definition& def, partition_store::write_batch& batch)
  : def_(def), batch_(batch) {}

int64_t window_batch::stream_time() {
  if (!stream_time_) {
    stream_time_ = no_time;
    if (auto kept = batch_.get_side(side::windows, stream_time_key())) {
      int64_t t = 0;
      auto r = std::from_chars(kept->data(), kept->data() + kept->size(), t);
      if (r.ec == std::errc{})
        stream_time_ = t;
    }
    begin_time_ = stream_time_;
    record_time_ = *stream_time_;
  }
  return *stream_time_;
}

void window_batch::update(std::string_view key, int64_t event_ms, const update_fn& update) {
  if (event_ms < 0)
    throw graph_error("windowed table '" + def_.name + "': the record has no timestamp (" +
                      std::to_string(event_ms) + "); produce it with a timestamp (CreateTime), "
                      "or pass its event time to ctx.update_windows_at");
  if (key.size() + 8 > partition_store::max_key_size)
    throw graph_error("windowed table '" + def_.name + "': a key of " +
                      std::to_string(key.size()) + " bytes is longer than the " +
                      std::to_string(partition_store::max_key_size - 8) +
                      " bytes a window's key may have; use shorter keys (a hash of the key)");
  if (!record_active_)
    record_time_ = stream_time();
  record_active_ = true;
  record_time_ = std::max(record_time_, event_ms);
  auto grace = def_.spec.grace.count();
  auto size = def_.spec.size.count();
  for (auto start : window_starts(def_.spec, event_ms)) {
    if (start + size + grace <= record_time_) {
      if (record_late_++ == 0)
        late_note_ = "late for window [" + std::to_string(start) + ", " +
                     std::to_string(start + size) + ") of windowed table '" + def_.name +
                     "': it closed at stream time " + std::to_string(start + size + grace) +
                     " (grace " + ms_text(grace) + "), the partition's stream time is " +
                     std::to_string(record_time_);
      continue;
    }
    auto wkey = encode_window_key(start, key);
    std::optional<std::string> current;
    auto mine = std::find_if(record_updates_.rbegin(), record_updates_.rend(),
                             [&](const auto& u) { return u.first == wkey; });
    if (mine != record_updates_.rend())
      current = mine->second;
    else
      current = batch_.get_side(side::windows, wkey);
    auto next = update(current);
    record_updates_.emplace_back(std::move(wkey), std::move(next));
  }
}

void window_batch::keep() {
  if (!record_active_)
    return;
  for (auto& [k, v] : record_updates_)
    batch_.set_side(side::windows, k, std::move(v));
  if (record_time_ > stream_time()) {
    stream_time_ = record_time_;
    batch_.set_side(side::windows, stream_time_key(), std::to_string(record_time_));
  }
  late_ += record_late_;
  drop();
}

void window_batch::drop() {
  record_updates_.clear();
  record_late_ = 0;
  record_active_ = false;
}

void window_batch::close(const emit_fn& emit) {
  if (!stream_time_ || *stream_time_ == *begin_time_)
    return; // the stream time did not move
  auto now = *stream_time_;
  auto size = def_.spec.size.count();
  auto grace = def_.spec.grace.count();
  // Windows whose end plus grace lies in (begin, now] close now.
  auto first = *begin_time_ == no_time ? int64_t{0}
                                       : std::max<int64_t>(0, *begin_time_ - size - grace + 1);
  auto last = now - size - grace;
  if (last >= first)
    batch_.scan_side(side::windows, encode_window_key(first, {}),
                     [&](std::string_view k, std::string_view v) {
                       auto w = decode_window_key(k);
                       if (!w || w->first > last)
                         return false;
                       emit({w->first, w->first + size}, w->second, v);
                       return true;
                     });
  // Windows whose end plus retention lies at or before now are deleted.
  auto expired = now - size - def_.spec.retention.count();
  if (expired < 0)
    return;
  std::vector<std::string> old;
  batch_.scan_side(side::windows, encode_window_key(0, {}),
                   [&](std::string_view k, std::string_view) {
                     auto w = decode_window_key(k);
                     if (!w || w->first > expired)
                       return false;
                     old.emplace_back(k);
                     return true;
                   });
  for (const auto& k : old)
    batch_.set_side(side::windows, k, std::nullopt);
}

std::vector<window_entry> windows_of(const partition_store& store, const window_definition& def,
                                   std::string_view key) {
  std::vector<window_entry> out;
  int64_t now = no_time;
  store.scan_side(side::windows, stream_time_key(), [&](std::string_view k, std::string_view v) {
    if (k == stream_time_key())
      std::from_chars(v.data(), v.data() + v.size(), now);
    return false;
  });
  if (now == no_time)
    return out;
  auto size = def.spec.size.count();
  auto advance = def.spec.advance.count();
  auto grace = def.spec.grace.count();
  auto start = std::max<int64_t>(0, floor_to(now - size - def.spec.retention.count(), advance));
  // One seek per window of the key, or per gap: the first entry at or after (start, key) is
  // the key's window at `start`, or it tells where the next window of any key starts.
  while (start <= now) {
    auto wkey = encode_window_key(start, key);
    std::optional<int64_t> next;
    store.scan_side(side::windows, wkey, [&](std::string_view k, std::string_view v) {
      auto w = decode_window_key(k);
      if (!w)
        return false;
      if (k == wkey)
        out.push_back({{start, start + size}, std::string{v}, start + size + grace <= now});
      next = w->first > start ? w->first : start + advance;
      return false;
    });
    if (!next)
      break; // no window at or after `start`
    start = *next;
  }
  return out;
}

} // namespace partita
