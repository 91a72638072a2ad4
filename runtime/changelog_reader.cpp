#include "runtime/changelog_reader.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <algorithm>
#include <memory>
#include <thread>

namespace partita {

partition_read read_partition(const kafka_properties& properties, const std::string& topic,
                              int32_t partition, int64_t from, const std::atomic<bool>& cancel,
                              const std::function<void(rd_kafka_message_t**, size_t)>& apply,
                              std::chrono::milliseconds timeout,
                              const std::function<void(int64_t, int64_t)>& on_range,
                              rd_kafka_t* asker) {
  auto log = logger("recovery");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int64_t lo = 0;
  int64_t hi = 0;
  // Watermarks need the partition's leader: wait for it through a broker outage.
  auto watermarks = [&](rd_kafka_t* rk) {
    for (;;) {
      if (cancel)
        throw read_cancelled{};
      auto code = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &lo, &hi, 5000);
      if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
      if (std::chrono::steady_clock::now() > deadline)
        throw kafka_error(code, "watermarks of " + topic + "/" + std::to_string(partition));
      log->warn("[{}/{}] watermarks not available yet: {}", topic, partition,
                rd_kafka_err2str(code));
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
    }
  };
  auto range = [&] {
    if (from < lo) {
      if (from > 0)
        log->warn("[{}/{}] changelog starts at {} (retention), wanted {}", topic, partition, lo,
                  from);
      from = lo;
    }
    if (on_range)
      on_range(from, std::max(from, hi));
  };
  partition_read result;
  if (asker != nullptr) {
    watermarks(asker);
    if (std::max(from, lo) >= hi) {
      range();
      return {hi, 0, 0};
    }
  }
  rd_kafka_conf_t* conf = make_kafka_conf(
    {{"group.id", "partita-changelog-reader"},
     {"enable.auto.commit", "false"},
     {"enable.auto.offset.store", "false"},
     {"auto.offset.reset", "earliest"},
     {"fetch.wait.max.ms", "10"},
     {"queued.min.messages", "200000"},
     {"log_level", "4"}},
    properties);
  char err[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw config_error(std::string{"cannot create a changelog reader: "} + err);
  }
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk{raw, &rd_kafka_destroy};
  if (asker == nullptr)
    watermarks(rk.get());
  result.next_offset = hi;
  range();
  if (from >= hi)
    return result;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset = from;
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk.get());
  std::vector<rd_kafka_message_t*> msgs(10000);
  int64_t position = from;
  while (position < hi) {
    if (cancel) {
      rd_kafka_queue_destroy(queue);
      throw read_cancelled{};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      rd_kafka_queue_destroy(queue);
      throw kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT,
                        "reading " + topic + "/" + std::to_string(partition) + " at offset " +
                          std::to_string(position) + " of " + std::to_string(hi));
    }
    auto n = rd_kafka_consume_batch_queue(queue, 200, msgs.data(), msgs.size());
    if (n <= 0)
      continue;
    // Keep the records up to the high watermark of the start; errors are retried by
    // librdkafka and only logged here.
    size_t keep = 0;
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[static_cast<size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < hi) {
        position = m->offset + 1;
        result.bytes += m->len + m->key_len;
        msgs[keep++] = m;
      } else {
        if (m->err)
          log->warn("[{}/{}] {}", topic, partition, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
      }
    }
    try {
      if (keep > 0)
        apply(msgs.data(), keep);
    } catch (...) {
      for (size_t i = 0; i < keep; ++i)
        rd_kafka_message_destroy(msgs[i]);
      rd_kafka_queue_destroy(queue);
      throw;
    }
    result.records += keep;
    for (size_t i = 0; i < keep; ++i)
      rd_kafka_message_destroy(msgs[i]);
  }
  rd_kafka_queue_destroy(queue);
  return result;
}

} // namespace partita
