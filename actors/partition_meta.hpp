#pragma once

// The names of a partition store's metadata (persistence/partition_store.hpp), in one place.

#include "persistence/partition_store.hpp"

#include <string>

namespace partita::meta {

/// Last input offset of `topic` whose effects the table holds.
inline std::string applied(const std::string& topic) {
  return "applied:" + topic;
}
/// Last input offset of `topic` whose effects are all acknowledged by Kafka.
inline std::string acked(const std::string& topic) {
  return "acked:" + topic;
}
/// The record of `topic` that failed last, and how many times.
inline std::string poison(const std::string& topic) {
  return "poison:" + topic;
}
inline std::string poison_attempts(const std::string& topic) {
  return "poison-attempts:" + topic;
}
/// Next changelog offset not known to be in the table: the table equals the changelog up to
/// here, plus the pending batches.
inline constexpr const char* changelog = "changelog";
/// The first pending batch held by a deferred commit (-1: none): it and the batches after it
/// are undone by a start on the store (actors/deferred_commits.hpp).
inline constexpr const char* deferred_from = "deferred-from";
/// This store's writer id in the changelog (random, never 0), and its epoch as owner.
inline constexpr const char* writer = "writer";
inline constexpr const char* epoch = "epoch";
/// The highest owner epoch seen in the changelog up to `changelog`.
inline constexpr const char* epoch_seen = "epoch-seen";
/// The highest batch number of writer <store>.<epoch> a reading of changelog `name` ("table",
/// "timers", "windows") counted: what a `partita.then: <name>` checkpoint is confirmed by.
inline std::string counted(const std::string& name, int64_t store, int64_t epoch) {
  return "counted:" + name + ":" + std::to_string(store) + "." + std::to_string(epoch);
}
/// The same two for the side tables' changelogs (`<group>-timers`, `<group>-windows`).
inline const char* side_changelog(side s) {
  return s == side::timers ? "timers-changelog" : "windows-changelog";
}
inline const char* side_epoch_seen(side s) {
  return s == side::timers ? "timers-epoch-seen" : "windows-epoch-seen";
}

} // namespace partita::meta
