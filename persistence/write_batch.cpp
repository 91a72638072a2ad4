// partition_store::write_batch: changes collected in memory, applied in one LMDB transaction.

#include "persistence/lmdb_detail.hpp"

#include <utility>

namespace partita {

using namespace lmdb;

void partition_store::write_batch::put(std::string_view key, std::string_view value) {
  changes_.insert_or_assign(std::string{key}, std::string{value});
}

void partition_store::write_batch::erase(std::string_view key) {
  changes_.insert_or_assign(std::string{key}, std::nullopt);
}

void partition_store::write_batch::set(std::string_view key,
                                       const std::optional<std::string>& value) {
  changes_.insert_or_assign(std::string{key}, value);
}

void partition_store::write_batch::set(std::string&& key, std::optional<std::string>&& value) {
  changes_.insert_or_assign(std::move(key), std::move(value));
}

void partition_store::write_batch::reserve(std::size_t n) {
  changes_.reserve(changes_.size() + n);
}

void partition_store::write_batch::put_pending(uint64_t seq, std::string bytes) {
  pending_.insert_or_assign(seq, std::move(bytes));
}

void partition_store::write_batch::erase_pending(uint64_t seq) {
  pending_.insert_or_assign(seq, std::nullopt);
}

void partition_store::write_batch::set_meta(std::string_view name, int64_t value) {
  meta_.insert_or_assign(std::string{name}, value);
}

partition_store::write_batch::~write_batch() {
  close_reader();
}

void partition_store::write_batch::close_reader() {
  if (reader_ != nullptr)
    mdb_txn_abort(std::exchange(reader_, nullptr));
}

std::optional<std::string> partition_store::write_batch::get(std::string_view key) {
  std::string name{key};
  if (auto i = changes_.find(name); i != changes_.end())
    return i->second;
  return read_committed(key);
}

std::optional<std::string> partition_store::write_batch::read_committed(std::string_view key) {
  std::string name{key};
  if (auto i = read_.find(name); i != read_.end())
    return i->second;
  auto value = read(reader(), store_->table_dbi_, key, store_->cfg_.dir);
  read_.emplace(std::move(name), value);
  return value;
}

MDB_txn* partition_store::write_batch::reader() {
  // One read transaction serves all reads of the batch.
  if (reader_ == nullptr)
    if (int rc = mdb_txn_begin(store_->env_, nullptr, MDB_RDONLY, &reader_); rc != 0)
      fail("txn_begin", rc, store_->cfg_.dir);
  return reader_;
}

void partition_store::write_batch::set_side(side s, std::string_view key,
                                            std::optional<std::string> value) {
  side_changes_[static_cast<unsigned>(s)].insert_or_assign(std::string{key}, std::move(value));
}

std::optional<std::string> partition_store::write_batch::get_side(side s, std::string_view key) {
  std::string name{key};
  const auto& changes = side_changes_[static_cast<unsigned>(s)];
  if (auto i = changes.find(name); i != changes.end())
    return i->second;
  return side_before(s, name);
}

std::optional<std::string> partition_store::write_batch::side_before(side s,
                                                                     const std::string& key) {
  auto& known = side_read_[static_cast<unsigned>(s)];
  if (auto i = known.find(key); i != known.end())
    return i->second;
  auto value = read(reader(), store_->side_dbi_[static_cast<unsigned>(s)], key, store_->cfg_.dir);
  known.emplace(key, value);
  return value;
}

void partition_store::write_batch::scan_side(
  side s, std::string_view from,
  const std::function<bool(std::string_view, std::string_view)>& fn) {
  const auto& changes = side_changes_[static_cast<unsigned>(s)];
  auto mine = changes.lower_bound(std::string{from});
  MDB_cursor* cursor = nullptr;
  auto dbi = store_->side_dbi_[static_cast<unsigned>(s)];
  if (int rc = mdb_cursor_open(reader(), dbi, &cursor); rc != 0)
    fail("cursor_open", rc, store_->cfg_.dir);
  struct closer {
    MDB_cursor* c;
    ~closer() { mdb_cursor_close(c); }
  } close{cursor};
  MDB_val k = to_val(from);
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  // Merges the committed entries with the batch's changes, which win on the same key.
  for (;;) {
    bool committed = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
      fail("cursor_get", rc, store_->cfg_.dir);
    if (!committed && mine == changes.end())
      return;
    auto at = committed ? to_view(k) : std::string_view{};
    if (mine != changes.end() && (!committed || std::string_view{mine->first} <= at)) {
      bool same = committed && std::string_view{mine->first} == at;
      if (mine->second && !fn(mine->first, *mine->second))
        return;
      ++mine;
      if (same)
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
      continue;
    }
    if (!fn(at, to_view(v)))
      return;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
}

std::optional<std::string> partition_store::write_batch::before(const std::string& key) {
  if (auto i = read_.find(key); i != read_.end())
    return i->second;
  return read_committed(key);
}

void partition_store::write_batch::commit() {
  close_reader();
  if (empty())
    return;
  store_->apply(*this);
}

} // namespace partita
