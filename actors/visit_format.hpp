#pragma once

// How the engine writes visits (graph.visitor, processor::visit_all; docs/tables.md). Engine
// internals.
//
//   <group>-visits   an input of the engine's own, co-partitioned with the others, key the
//                    visit's id. 'S' records start a visit in their partition (the visitor's
//                    name, the value); 'D' records report a partition done (its number, the
//                    keys visited, an error if it could not visit).
//   progress         one entry per visit under way, in the partition's timers side table and
//                    its changelog `<group>-timers`, at a key after every timer's: the visit,
//                    the key its next chunk starts after, the keys visited so far.
//
// Every field is a 4-byte big-endian length and its bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace partita {

struct visit_start {
  std::string id;
  std::string name;  // the visitor's
  std::string value; // encoded by the visitor's codec
};

struct visit_done {
  std::string id;
  int32_t partition = 0;
  int64_t visited = 0;
  std::string error; // empty: visited every key
};

/// The value of a start record, and of a done record (its key: the visit's id).
std::string encode_visit_start(const visit_start& s);
std::string encode_visit_done(const visit_done& d);
/// What a record of the visits topic is. Throws std::invalid_argument for bytes that are not
/// a visit record.
enum class visit_record { start, done };
visit_record visit_record_kind(std::string_view value);
visit_start decode_visit_start(std::string_view id, std::string_view value);
visit_done decode_visit_done(std::string_view id, std::string_view value);

/// A visit under way in one partition.
struct visit_progress {
  visit_start visit;
  bool begun = false; // a chunk ran: the next starts after `after`
  std::string after;
  int64_t visited = 0;
};

/// Where a visit's progress is kept in the timers side table: after every timer's key.
std::string visit_progress_key(std::string_view id);
/// The first key of the progress entries, and whether `key` is one.
std::string_view visit_progress_prefix();
bool is_visit_progress(std::string_view key);
std::string encode_visit_progress(const visit_progress& p);
/// Throws std::invalid_argument for bytes that are not a progress entry.
visit_progress decode_visit_progress(std::string_view key, std::string_view value);

/// A fresh visit id: 16 hex digits.
std::string new_visit_id();

} // namespace partita
