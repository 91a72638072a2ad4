#include "actors/visit_client.hpp"

#include "actors/visit_format.hpp"
#include "runtime/kafka_error.hpp"
#include "runtime/kafka_producer.hpp"
#include "runtime/logger.hpp"
#include "runtime/topic_admin.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>

namespace partita {

namespace {

using consumer_ptr = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;

consumer_ptr make_reader(const kafka_properties& kafka) {
  rd_kafka_conf_t* conf =
    make_kafka_conf({{"fetch.wait.max.ms", "10"}, {"log_level", "4"}}, kafka,
                    groupless_consumer("partita-visit-reader"));
  return consumer_ptr{new_client(RD_KAFKA_CONSUMER, conf, "the visit's reader"),
                      &rd_kafka_destroy};
}

/// The end of partition `p` of `topic`: where its done records will come after. Waits for a
/// leader through a broker outage, up to `deadline`.
int64_t end_of(rd_kafka_t* rk, const std::string& topic, int32_t p,
               std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    int64_t lo = 0;
    int64_t hi = 0;
    auto code = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 2000);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
      return hi;
    if (std::chrono::steady_clock::now() > deadline)
      throw visit_error("the visit cannot start: no end offset of " + topic + "/" +
                        std::to_string(p) + ": " + rd_kafka_err2str(code));
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
}

/// Counts the start records' delivery reports.
struct start_reports final : delivery_handler {
  void delivered(rd_kafka_resp_err_t err, int32_t, int64_t) override {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      failed = err;
    ++reported;
  }
  std::atomic<int> reported{0};
  std::atomic<rd_kafka_resp_err_t> failed{RD_KAFKA_RESP_ERR_NO_ERROR};
};

} // namespace

visit_result run_visit(const kafka_properties& kafka, const graph_definition& graph,
                       const std::string& name, std::string value,
                       std::chrono::milliseconds timeout,
                       const std::function<void(const visit_status&)>& on_progress,
                       const std::function<bool()>& cancelled) {
  auto log = logger("visit");
  const auto topic = graph.visits_topic();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The cluster's metadata may take a while through a broker outage, whatever the timeout.
  auto counts = partition_counts(kafka, std::max(timeout, std::chrono::milliseconds{30000}));
  auto found = counts.find(topic);
  if (found == counts.end())
    throw config_error("the visits topic '" + topic + "' does not exist; start the processor "
                       "of group " + graph.group + " once (it creates it), or create it with "
                       "the inputs' partition count");
  visit_status status;
  status.id = new_visit_id();
  status.name = name;
  status.partitions = found->second;
  auto reader = make_reader(kafka);
  std::vector<int64_t> from;
  for (int32_t p = 0; p < status.partitions; ++p)
    from.push_back(end_of(reader.get(), topic, p, deadline));
  {
    kafka_producer producer{kafka};
    start_reports reports;
    auto start = encode_visit_start({status.id, name, std::move(value)});
    for (int32_t p = 0; p < status.partitions; ++p)
      producer.produce(topic, p, status.id, start, &reports);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (!producer.flush(std::max(left, std::chrono::milliseconds{1})) ||
        reports.reported != status.partitions)
      throw visit_error("visit " + status.id + " of '" + name + "' did not start within " +
                        std::to_string(timeout.count()) + " ms: the start records are not "
                        "acknowledged");
    if (reports.failed != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw visit_error("visit " + status.id + " of '" + name + "' did not start: " +
                        rd_kafka_err2str(reports.failed));
  }
  log->info("visit {} of '{}' started in {} partitions", status.id, name, status.partitions);
  if (on_progress)
    on_progress(status);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(status.partitions);
  for (int32_t p = 0; p < status.partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = from[p];
  rd_kafka_assign(reader.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  // A partition may report twice (its last chunk run again after a crash): the first counts.
  std::map<int32_t, visit_done> done;
  while (static_cast<int32_t>(done.size()) < status.partitions) {
    if (std::chrono::steady_clock::now() > deadline) {
      rd_kafka_assign(reader.get(), nullptr);
      throw visit_error("visit " + status.id + " of '" + name + "' not done within " +
                        std::to_string(timeout.count()) + " ms: " +
                        std::to_string(done.size()) + " of " +
                        std::to_string(status.partitions) + " partitions done, " +
                        std::to_string(status.visited) + " keys visited; the visit goes on in "
                        "the others");
    }
    if (cancelled()) {
      rd_kafka_assign(reader.get(), nullptr);
      throw visit_error("visit " + status.id + " of '" + name + "': stopped waiting (the "
                        "processor stops); the visit goes on in the partitions not done");
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader.get(), 100);
    if (m == nullptr)
      continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> guard{
      m, &rd_kafka_message_destroy};
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->key == nullptr ||
        std::string_view{static_cast<const char*>(m->key), m->key_len} != status.id)
      continue;
    std::string_view bytes{static_cast<const char*>(m->payload), m->len};
    try {
      if (visit_record_kind(bytes) != visit_record::done)
        continue;
      auto d = decode_visit_done(status.id, bytes);
      if (!done.emplace(d.partition, d).second)
        continue;
      if (!d.error.empty() && status.error.empty())
        status.error = "partition " + std::to_string(d.partition) + ": " + d.error;
      status.visited += d.visited;
      status.done = static_cast<int32_t>(done.size());
      if (on_progress)
        on_progress(status);
    } catch (const std::invalid_argument& e) {
      log->warn("visit {}: a record of {} at {}/{} is no visit's: {}", status.id, topic,
                m->partition, m->offset, e.what());
    }
  }
  rd_kafka_assign(reader.get(), nullptr);
  status.finished = true;
  if (on_progress)
    on_progress(status);
  log->info("visit {} of '{}' done: {} keys in {} partitions", status.id, name, status.visited,
            status.partitions);
  if (!status.error.empty())
    throw visit_error("visit " + status.id + " of '" + name + "' failed in " + status.error);
  return visit_result{status.id, status.visited, status.partitions};
}

} // namespace partita
