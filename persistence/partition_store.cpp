#include "persistence/partition_store.hpp"

#include "persistence/lmdb_detail.hpp"

#include <lmdb.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

namespace partita {

using namespace lmdb;

namespace {

/// Each LMDB environment callocs a 2 MiB dirty-page list when it opens. glibc's adaptive
/// threshold soon serves allocations that large from its heaps, where calloc clears a reused
/// chunk: every store opened after others closed (a rebalance; the scaling benchmark's
/// sizes) made 2 MiB resident at once, up to 450 KiB per idle partition at 4,096. Served by
/// mmap instead, only the pages LMDB touches are resident (76-150 KiB per idle partition,
/// docs/performance.md) and a closed store gives them back. On the embedded cluster nothing
/// else comes near 2 MiB; a real broker's larger fetch responses are now mapped each time too
/// (their cost: docs/performance.md). Fixing the threshold also stops glibc adapting its trim
/// threshold, left at 128 KiB: each thread's heap was then given back and faulted in again
/// many times a second (17 % more CPU in a recovery thread). It is set as glibc's own
/// adaptation would, to twice the mmap threshold. Once per process; a threshold the user set
/// (MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_, or glibc.malloc.mmap_threshold or
/// glibc.malloc.trim_threshold in GLIBC_TUNABLES) is kept.
void map_lmdb_tables() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    auto user_set = [&](const char* variable, const char* tunable) {
      return std::getenv(variable) != nullptr ||
             (tunables != nullptr && std::strstr(tunables, tunable) != nullptr);
    };
    constexpr int threshold = 2 * 1024 * 1024;
    if (user_set("MALLOC_MMAP_THRESHOLD_", "mmap_threshold"))
      return;
    mallopt(M_MMAP_THRESHOLD, threshold); // fixed from now on, and the trim threshold with it
    if (!user_set("MALLOC_TRIM_THRESHOLD_", "trim_threshold"))
      mallopt(M_TRIM_THRESHOLD, 2 * threshold);
  });
}

} // namespace

partition_store::partition_store(store_config cfg) : cfg_(std::move(cfg)) {
  map_lmdb_tables();
  std::error_code ec;
  std::filesystem::create_directories(cfg_.dir, ec);
  if (ec)
    throw store_error("cannot create state directory " + cfg_.dir.string() + ": " + ec.message());
  if (int rc = mdb_env_create(&env_); rc != 0)
    fail("env_create", rc, cfg_.dir);
  mdb_env_set_maxdbs(env_, 5);
  // Never shrink an existing map: LMDB keeps the larger of this and the file's own size.
  mdb_env_set_mapsize(env_, cfg_.initial_map_size);
  // MDB_NOTLS: an actor may run on a different thread for each message.
  unsigned flags = MDB_NOTLS | (cfg_.fsync ? 0u : MDB_NOSYNC);
  if (int rc = mdb_env_open(env_, cfg_.dir.c_str(), flags, 0644); rc != 0) {
    mdb_env_close(env_);
    env_ = nullptr;
    fail("env_open", rc, cfg_.dir);
  }
  txn t{env_, 0, cfg_.dir};
  if (int rc = mdb_dbi_open(t.get(), "table", MDB_CREATE, &table_dbi_); rc != 0)
    fail("dbi_open(table)", rc, cfg_.dir);
  if (int rc = mdb_dbi_open(t.get(), "meta", MDB_CREATE, &meta_dbi_); rc != 0)
    fail("dbi_open(meta)", rc, cfg_.dir);
  if (int rc = mdb_dbi_open(t.get(), "pending", MDB_CREATE, &pending_dbi_); rc != 0)
    fail("dbi_open(pending)", rc, cfg_.dir);
  for (auto name : {"timers", "windows"}) {
    auto& dbi = side_dbi_[std::string_view{name} == "timers" ? 0 : 1];
    if (int rc = mdb_dbi_open(t.get(), name, MDB_CREATE, &dbi); rc != 0)
      fail("dbi_open(side table)", rc, cfg_.dir);
  }
  if (int rc = t.commit(); rc != 0)
    fail("commit", rc, cfg_.dir);
}

partition_store::partition_store(partition_store&& other) noexcept
    : cfg_(std::move(other.cfg_)), env_(std::exchange(other.env_, nullptr)),
      table_dbi_(other.table_dbi_), meta_dbi_(other.meta_dbi_), pending_dbi_(other.pending_dbi_),
      side_dbi_(other.side_dbi_),
      resizing_(std::move(other.resizing_)) {}

partition_store& partition_store::operator=(partition_store&& other) noexcept {
  if (this != &other) {
    if (env_ != nullptr)
      mdb_env_close(env_);
    cfg_ = std::move(other.cfg_);
    env_ = std::exchange(other.env_, nullptr);
    table_dbi_ = other.table_dbi_;
    meta_dbi_ = other.meta_dbi_;
    pending_dbi_ = other.pending_dbi_;
    side_dbi_ = other.side_dbi_;
    resizing_ = std::move(other.resizing_);
  }
  return *this;
}

partition_store::~partition_store() {
  if (env_ != nullptr)
    mdb_env_close(env_);
}

std::filesystem::path partition_store::path_for(const std::filesystem::path& state_dir,
                                                std::string_view group, std::string_view topic,
                                                int32_t partition) {
  // Kafka names allow [a-zA-Z0-9._-]; anything else (a path separator, say) becomes '_', and a
  // name made only of dots cannot climb out of the state directory.
  auto safe = [](std::string_view name) {
    std::string out;
    for (char c : name) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      out += ok ? c : '_';
    }
    if (out.empty() || out.find_first_not_of('.') == std::string::npos)
      out.insert(0, "_");
    return out;
  };
  return state_dir / safe(group) / (safe(topic) + "." + std::to_string(partition));
}

std::optional<std::string> partition_store::get(std::string_view key) const {
  std::shared_lock guard{*resizing_};
  txn t{env_, MDB_RDONLY, cfg_.dir};
  return read(t.get(), table_dbi_, key, cfg_.dir);
}

std::optional<int64_t> partition_store::meta(std::string_view name) const {
  std::optional<std::string> text;
  {
    std::shared_lock guard{*resizing_};
    txn t{env_, MDB_RDONLY, cfg_.dir};
    text = read(t.get(), meta_dbi_, name, cfg_.dir);
  }
  if (!text)
    return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size())
    throw store_error("corrupt metadata '" + std::string{name} + "' in " + cfg_.dir.string());
  return value;
}

namespace {

std::size_t entries(MDB_env* env, unsigned dbi, const std::filesystem::path& dir) {
  txn t{env, MDB_RDONLY, dir};
  MDB_stat st;
  if (int rc = mdb_stat(t.get(), dbi, &st); rc != 0)
    fail("stat", rc, dir);
  return st.ms_entries;
}

} // namespace

std::size_t partition_store::size() const {
  std::shared_lock guard{*resizing_};
  return entries(env_, table_dbi_, cfg_.dir);
}

std::size_t partition_store::side_size(side s) const {
  std::shared_lock guard{*resizing_};
  return entries(env_, side_dbi_[static_cast<unsigned>(s)], cfg_.dir);
}

void partition_store::scan_side(
  side s, std::string_view from,
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  visit(side_dbi_[static_cast<unsigned>(s)], from, fn);
}

std::size_t partition_store::bytes_used() const {
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &st);
  return (info.me_last_pgno + 1) * st.ms_psize;
}

std::size_t partition_store::map_size() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

void partition_store::for_each(
  const std::function<void(std::string_view, std::string_view)>& fn) const {
  scan({}, {}, [&](std::string_view k, std::string_view v) {
    fn(k, v);
    return true;
  });
}

void partition_store::scan(
  std::string_view from, std::string_view to,
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  // In chunks copied out of the read transaction: the caller's function runs with no lock
  // held, so that it may read this store, and the writer may grow the map meanwhile.
  std::string next{from};
  bool skip_first = false; // `next` was the last key of the previous chunk
  for (;;) {
    std::vector<std::pair<std::string, std::string>> chunk;
    bool end = true;
    visit(table_dbi_, next, [&](std::string_view k, std::string_view v) {
      if (!to.empty() && k >= to)
        return false;
      if (skip_first && k == next)
        return true;
      if (chunk.size() == 1024) {
        end = false;
        return false;
      }
      chunk.emplace_back(k, v);
      return true;
    });
    for (const auto& [k, v] : chunk)
      if (!fn(k, v))
        return;
    if (end || chunk.empty())
      return;
    next = chunk.back().first;
    skip_first = true;
  }
}

void partition_store::visit(
  unsigned dbi, std::string_view from,
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::shared_lock guard{*resizing_};
  txn t{env_, MDB_RDONLY, cfg_.dir};
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(t.get(), dbi, &cur); rc != 0)
    fail("cursor_open", rc, cfg_.dir);
  MDB_val k = to_val(from);
  MDB_val v;
  // LMDB orders keys bytewise, as std::string_view compares them.
  for (int rc = mdb_cursor_get(cur, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
       rc == 0 && fn(to_view(k), to_view(v)); rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
  }
  mdb_cursor_close(cur);
}

namespace {

/// Sequence numbers as big-endian keys, so that LMDB's order is theirs.
std::string seq_key(uint64_t seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
  return out;
}

uint64_t seq_of(std::string_view key) {
  uint64_t seq = 0;
  for (char c : key)
    seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

} // namespace

void partition_store::for_each_pending(
  const std::function<void(uint64_t, std::string_view)>& fn) const {
  visit(pending_dbi_, {}, [&](std::string_view k, std::string_view v) {
    fn(seq_of(k), v);
    return true;
  });
}

void partition_store::clear() {
  std::shared_lock guard{*resizing_};
  txn t{env_, 0, cfg_.dir};
  for (auto dbi : {table_dbi_, side_dbi_[0], side_dbi_[1]})
    if (int rc = mdb_drop(t.get(), dbi, 0); rc != 0)
      fail("drop", rc, cfg_.dir);
  if (int rc = t.commit(); rc != 0)
    fail("commit", rc, cfg_.dir);
}

void partition_store::grow() {
  std::unique_lock guard{*resizing_};
  auto next = map_size() * 2;
  if (int rc = mdb_env_set_mapsize(env_, next); rc != 0)
    fail("set_mapsize", rc, cfg_.dir);
  spdlog::info("[store {}] map full, grown to {} MiB", cfg_.dir.string(), next >> 20);
}

int partition_store::try_apply(const write_batch& batch) {
  std::shared_lock guard{*resizing_};
  txn t{env_, 0, cfg_.dir};
  // In key order: each put then lands next to the one before it in the B-tree, on pages
  // already touched (a large batch, a changelog's recovery, writes several times faster).
  std::vector<const write_batch::change*> in_order;
  in_order.reserve(batch.changes_.size());
  for (const auto& c : batch.changes_)
    in_order.push_back(&c);
  std::sort(in_order.begin(), in_order.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  // Keys all past the table's last (a recovery into an empty store): each is appended, with
  // no search, and an erase has nothing to erase.
  bool append = false;
  if (!in_order.empty()) {
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(t.get(), table_dbi_, &cursor); rc != 0)
      return rc;
    MDB_val k;
    MDB_val v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return rc;
    append = rc == MDB_NOTFOUND || to_view(k) < std::string_view{in_order.front()->first};
  }
  for (const auto* c : in_order) {
    int rc = 0;
    if (!append) {
      rc = put_or_erase(t.get(), table_dbi_, c->first, c->second);
    } else if (c->second) {
      MDB_val k = to_val(c->first);
      MDB_val v = to_val(*c->second);
      rc = mdb_put(t.get(), table_dbi_, &k, &v, MDB_APPEND);
    }
    if (rc != 0)
      return rc; // aborted by txn's destructor
  }
  for (std::size_t s = 0; s < side_count; ++s)
    for (const auto& [key, value] : batch.side_changes_[s])
      if (int rc = put_or_erase(t.get(), side_dbi_[s], key, value); rc != 0)
        return rc;
  for (const auto& [name, value] : batch.meta_) {
    auto text = std::to_string(value);
    MDB_val k = to_val(name);
    MDB_val v = to_val(text);
    if (int rc = mdb_put(t.get(), meta_dbi_, &k, &v, 0); rc != 0)
      return rc;
  }
  for (const auto& [seq, bytes] : batch.pending_)
    if (int rc = put_or_erase(t.get(), pending_dbi_, seq_key(seq), bytes); rc != 0)
      return rc;
  return t.commit();
}

void partition_store::apply(const write_batch& batch) {
  for (;;) {
    // No transaction is open here, as mdb_env_set_mapsize requires.
    int rc = try_apply(batch);
    if (rc == 0)
      return;
    if (rc == MDB_MAP_FULL)
      grow();
    else if (rc == MDB_MAP_RESIZED) { // another handle grew the file: adopt its size
      std::unique_lock guard{*resizing_};
      mdb_env_set_mapsize(env_, 0);
    }
    else
      fail("write", rc, cfg_.dir);
  }
}

} // namespace partita
