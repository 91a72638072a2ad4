#include "actors/changelog_recovery.hpp"

#include "runtime/crash_point.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

namespace partita {

handover_result recover_partition(const recovery_job& job, partition_store& store,
                                  const std::atomic<bool>& cancel,
                                  partition_actor_figures& figures) {
  auto log = logger("recovery", job.changelog, job.partition);
  auto started = std::chrono::steady_clock::now();
  auto last_log = started;
  uint64_t done = 0;
  int64_t begin = 0;
  int64_t end = 0;
  auto source_of = [&](const std::string& topic) -> changelog_source {
    if (topic.empty())
      return [](int64_t, const auto&) { return int64_t{0}; };
    if (!job.reader)
      throw std::logic_error("no changelog reader for " + topic);
    // The parsed records of a fetched batch: one vector reused (a new one per batch is a
    // large allocation each time, and glibc consolidates its free lists for each).
    auto chunk = std::make_shared<std::vector<changelog_record>>();
    return [&, topic, chunk](int64_t from, const auto& apply) -> int64_t {
      auto on_range = [&](int64_t b, int64_t e) {
        begin = b;
        end = e;
      };
      auto on_records = [&](rd_kafka_message_t** msgs, size_t n) {
        chunk->clear();
        for (size_t i = 0; i < n; ++i)
          chunk->push_back(parse_changelog_record(msgs[i]));
        apply(*chunk);
        crash_point("during-recovery");
        done += n;
        figures.recovered += static_cast<int64_t>(n);
        figures.recovery_progress =
          (msgs[n - 1]->offset + 1 - begin) * 1000 / std::max<int64_t>(1, end - begin);
        auto now = std::chrono::steady_clock::now();
        if (now - last_log > std::chrono::seconds{2}) {
          last_log = now;
          double secs = std::chrono::duration<double>(now - started).count();
          log->info("[{}/{}] recovering: {} records at offset {} ({:.0f}/s)", topic,
                    job.partition, done, msgs[n - 1]->offset, done / secs);
        }
      };
      return job.reader->read(topic, job.partition, from, cancel, on_records,
                              std::chrono::minutes{5}, on_range)
        .next_offset;
    };
  };
  auto table = source_of(job.changelog);
  std::array<changelog_source, side_count> sources;
  side_sources sides{};
  for (std::size_t s = 0; s < side_count; ++s)
    if (!job.sides[s].empty()) {
      sources[s] = source_of(job.sides[s]);
      sides[s] = &sources[s];
    }
  auto result = take_over(store, job.inputs, table, sides, job.generation);
  double secs =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (done > 0)
    log->info("[{}/{}] recovered {} records in {:.2f} s ({:.0f} records/s)",
              job.changelog.empty() ? job.sides[0] + " " + job.sides[1] : job.changelog,
              job.partition, done, secs, done / std::max(secs, 1e-9));
  return result;
}

} // namespace partita
