#pragma once

// LMDB helpers shared by partition_store.cpp and write_batch.cpp. Internal to persistence/.

#include <lmdb.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "persistence/partition_store.hpp"

namespace partita::lmdb {

[[noreturn]] inline void fail(const char* what, int rc, const std::filesystem::path& dir) {
  throw store_error(std::string{"LMDB "} + what + " failed for " + dir.string() + ": " +
                    mdb_strerror(rc));
}

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

inline std::string_view to_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

/// A transaction that aborts unless committed.
class txn {
public:
  txn(MDB_env* env, unsigned flags, const std::filesystem::path& dir) {
    if (int rc = mdb_txn_begin(env, nullptr, flags, &t_); rc != 0)
      fail("txn_begin", rc, dir);
  }
  ~txn() {
    if (t_ != nullptr)
      mdb_txn_abort(t_);
  }
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  /// Returns the LMDB code; 0 on success. The transaction is finished either way.
  int commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    return rc;
  }
  MDB_txn* get() const { return t_; }

private:
  MDB_txn* t_ = nullptr;
};

inline std::optional<std::string> read(MDB_txn* t, unsigned dbi, std::string_view key,
                                const std::filesystem::path& dir) {
  MDB_val k = to_val(key);
  MDB_val v;
  int rc = mdb_get(t, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return std::nullopt;
  if (rc != 0)
    fail("get", rc, dir);
  return std::string{to_view(v)};
}

/// Writes `value` at `key`, or deletes the key (absent or not) for nullopt; the LMDB code.
inline int put_or_erase(MDB_txn* t, unsigned dbi, std::string_view key,
                 const std::optional<std::string>& value) {
  MDB_val k = to_val(key);
  if (value) {
    MDB_val v = to_val(*value);
    return mdb_put(t, dbi, &k, &v, 0);
  }
  int rc = mdb_del(t, dbi, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}


} // namespace partita::lmdb
