#pragma once

// Reads a counting group's table straight from its LMDB stores, or from its table topic, to
// check what a processor wrote from the outside.

#include "actors/partition_meta.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/codec.hpp"
#include "test/support/kafka_client.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace partita::test {

/// The values of `group`'s table in the stores under `state_dir`, partitions 0..n-1.
inline std::map<std::string, std::string> stored_values(const std::filesystem::path& state_dir,
                                                        const std::string& group, int partitions) {
  std::map<std::string, std::string> out;
  for (int p = 0; p < partitions; ++p) {
    auto path = partition_store::path_for(state_dir, group, group + "-table", p);
    if (!std::filesystem::exists(path))
      continue;
    partition_store store{store_config{path}};
    store.for_each([&](std::string_view k, std::string_view v) { out[std::string{k}] = v; });
  }
  return out;
}

/// The int64 values of `group`'s table in the stores under `state_dir`, partitions 0..n-1.
inline std::map<std::string, int64_t> stored_counts(const std::filesystem::path& state_dir,
                                                    const std::string& group, int partitions) {
  std::map<std::string, int64_t> out;
  for (const auto& [k, v] : stored_values(state_dir, group, partitions))
    out[k] = int64_codec{}.decode(v);
  return out;
}

/// The int64 values of `group`'s table with each partition read from the store, among those
/// under `state_dirs` (one per member), that knows the most of its changelog: its last owner's.
inline std::map<std::string, int64_t>
newest_stored_counts(const std::vector<std::filesystem::path>& state_dirs,
                     const std::string& group, int partitions) {
  std::map<std::string, int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    std::unique_ptr<partition_store> newest;
    int64_t most = -1;
    for (const auto& dir : state_dirs) {
      auto path = partition_store::path_for(dir, group, group + "-table", p);
      if (!std::filesystem::exists(path))
        continue;
      auto store = std::make_unique<partition_store>(store_config{path});
      auto n = store->meta(meta::changelog).value_or(0);
      if (n > most) {
        most = n;
        newest = std::move(store);
      }
    }
    if (newest)
      newest->for_each([&](std::string_view k, std::string_view v) {
        out[std::string{k}] = int64_codec{}.decode(v);
      });
  }
  return out;
}

/// The int64 values `group`'s table topic holds (its last value per key).
inline std::map<std::string, int64_t> changelog_counts(const std::string& bootstrap,
                                                       const std::string& group) {
  std::map<std::string, int64_t> out;
  for (const auto& [k, v] : latest_by_key(read_topic(bootstrap, group + "-table")))
    out[k] = int64_codec{}.decode(v);
  return out;
}

} // namespace partita::test
