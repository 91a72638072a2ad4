#pragma once

#include "persistence/partition_store.hpp"

#include <filesystem>

namespace partita {

/// Another process holds the state directory.
class state_dir_in_use : public store_error {
public:
  using store_error::store_error;
};

/// Holds a state directory for this process alone, as Kafka Streams locks its state
/// directory: an OS lock (flock) on `<dir>/LOCK`, which also names the holder's pid. Released
/// by the destructor, and by the OS when the process dies (kill -9 included).
class state_dir_lock {
public:
  /// Throws state_dir_in_use, naming the directory and the holder's pid, when another process
  /// holds it (or another lock of this process), and store_error when it cannot be created.
  explicit state_dir_lock(const std::filesystem::path& dir);
  state_dir_lock(const state_dir_lock&) = delete;
  state_dir_lock& operator=(const state_dir_lock&) = delete;
  ~state_dir_lock();

private:
  int fd_ = -1;
};

} // namespace partita
