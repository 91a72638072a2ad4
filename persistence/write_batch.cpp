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

void partition_store::write_batch::set_timer(std::string_view key,
                                             std::optional<std::string> value) {
  timer_changes_.insert_or_assign(std::string{key}, std::move(value));
}

std::optional<std::string> partition_store::write_batch::get_timer(std::string_view key) {
  std::string name{key};
  if (auto i = timer_changes_.find(name); i != timer_changes_.end())
    return i->second;
  return timer_before(name);
}

std::optional<std::string> partition_store::write_batch::timer_before(const std::string& key) {
  if (auto i = timer_read_.find(key); i != timer_read_.end())
    return i->second;
  auto value = read(reader(), store_->timers_dbi_, key, store_->cfg_.dir);
  timer_read_.emplace(key, value);
  return value;
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
