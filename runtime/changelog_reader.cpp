#include "runtime/changelog_reader.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace partita {

namespace {

using queue_ptr = std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)>;

} // namespace

changelog_reader::changelog_reader(const kafka_properties& properties)
  : log_(logger("recovery")) {
  rd_kafka_conf_t* conf = make_kafka_conf(
    {{"auto.offset.reset", "earliest"},
     // The end of a read is its high watermark, not an empty fetch: the wait only matters
     // when a leader has nothing yet, which a recovery never waits for.
     {"fetch.wait.max.ms", "10"},
     {"queued.min.messages", "200000"},
     {"log_level", "4"}},
    properties,
    // It never joins its group, and commits nothing: a read names its own start.
    groupless_consumer("partita-changelog-reader"));
  rd_kafka_conf_set_error_cb(conf, &changelog_reader::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = new_client(RD_KAFKA_CONSUMER, conf, "the changelog reader");
  poller_ = std::thread{[this] { serve(); }};
}

changelog_reader::~changelog_reader() {
  stop_ = true;
  poller_.join();
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void changelog_reader::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<changelog_reader*>(opaque)->log_->warn(
    "changelog reader: {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

void changelog_reader::serve() {
  // Records never come here (each read's partition queue is its own); the consumer queue
  // holds the client's errors, which would otherwise pile up while brokers are away.
  queue_ptr consumer{rd_kafka_queue_get_consumer(rk_), &rd_kafka_queue_destroy};
  while (!stop_) {
    rd_kafka_poll(rk_, 0);
    if (auto* m = rd_kafka_consume_queue(consumer.get(), 200)) {
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_->warn("changelog reader: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
    }
  }
}

void changelog_reader::assign(const std::string& topic, int32_t partition, int64_t offset,
                              bool add) {
  std::unique_ptr<rd_kafka_topic_partition_list_t,
                  decltype(&rd_kafka_topic_partition_list_destroy)>
    parts{rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy};
  rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), partition)->offset = offset;
  // Without a group there is no rebalance protocol: incremental (un)assignment is allowed and
  // leaves the other reads' partitions as they are.
  rd_kafka_error_t* error = add ? rd_kafka_incremental_assign(rk_, parts.get())
                                : rd_kafka_incremental_unassign(rk_, parts.get());
  if (error != nullptr) {
    kafka_error e{rd_kafka_error_code(error), std::string{add ? "assigning " : "unassigning "} +
                                                topic + "/" + std::to_string(partition) +
                                                " to the changelog reader: " +
                                                rd_kafka_error_string(error)};
    rd_kafka_error_destroy(error);
    throw e;
  }
}

partition_read changelog_reader::read(
  const std::string& topic, int32_t partition, int64_t from, const std::atomic<bool>& cancel,
  const std::function<void(rd_kafka_message_t**, size_t)>& apply,
  std::chrono::milliseconds timeout, const std::function<void(int64_t, int64_t)>& on_range) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  topic_partition tp{topic, partition};
  {
    std::unique_lock guard{mtx_};
    while (reading_.count(tp) > 0) {
      if (cancel)
        throw read_cancelled{};
      if (std::chrono::steady_clock::now() > deadline)
        throw kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT,
                          "waiting for another read of " + topic + "/" +
                            std::to_string(partition) + " to end");
      freed_.wait_for(guard, std::chrono::milliseconds{100});
    }
    reading_.insert(tp);
  }
  struct turn {
    changelog_reader* reader;
    const topic_partition& tp;
    ~turn() {
      std::lock_guard guard{reader->mtx_};
      reader->reading_.erase(tp);
      reader->freed_.notify_all();
    }
  } taking_turns{this, tp};
  int64_t lo = 0;
  int64_t hi = 0;
  // Watermarks need the partition's leader: wait for it through a broker outage.
  for (;;) {
    if (cancel)
      throw read_cancelled{};
    auto code = rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &lo, &hi, 5000);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
      break;
    if (std::chrono::steady_clock::now() > deadline)
      throw kafka_error(code, "watermarks of " + topic + "/" + std::to_string(partition));
    log_->warn("[{}/{}] watermarks not available yet: {}", topic, partition,
               rd_kafka_err2str(code));
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  if (from < lo) {
    if (from > 0)
      log_->warn("[{}/{}] changelog starts at {} (retention), wanted {}", topic, partition, lo,
                 from);
    from = lo;
  }
  if (on_range)
    on_range(from, std::max(from, hi));
  partition_read result{hi, 0, 0};
  if (from >= hi)
    return result;
  // The partition's own queue, no longer forwarded to the consumer queue before it is
  // assigned (librdkafka then leaves it so): its records reach this thread only.
  queue_ptr queue{rd_kafka_queue_get_partition(rk_, topic.c_str(), partition),
                  &rd_kafka_queue_destroy};
  if (!queue)
    throw kafka_error(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
                      "no queue for " + topic + "/" + std::to_string(partition));
  rd_kafka_queue_forward(queue.get(), nullptr);
  assign(topic, partition, from, true);
  struct assigned {
    changelog_reader* reader;
    const topic_partition& tp;
    rd_kafka_queue_t* queue;
    ~assigned() {
      try {
        reader->assign(tp.first, tp.second, RD_KAFKA_OFFSET_INVALID, false);
      } catch (const std::exception& e) {
        reader->log_->warn("{}", e.what());
        return; // still fetched: what its queue holds is freed with the client
      }
      // The records fetched ahead (up to queued.min.messages) would stay in the queue, which
      // librdkafka empties only when the partition is fetched again: a read cancelled by a
      // rebalance mid-recovery left them for the processor's life. Unassigned, they are
      // outdated, and serving the queue frees them.
      std::array<rd_kafka_message_t*, 256> left{};
      for (ssize_t n; (n = rd_kafka_consume_batch_queue(queue, 0, left.data(), left.size())) > 0;)
        for (ssize_t i = 0; i < n; ++i)
          rd_kafka_message_destroy(left[static_cast<size_t>(i)]);
    }
  } unassign_at_end{this, tp, queue.get()};
  std::vector<rd_kafka_message_t*> msgs(10000);
  int64_t position = from;
  while (position < hi) {
    if (cancel)
      throw read_cancelled{};
    if (std::chrono::steady_clock::now() > deadline)
      throw kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT,
                        "reading " + topic + "/" + std::to_string(partition) + " at offset " +
                          std::to_string(position) + " of " + std::to_string(hi));
    // librdkafka waits until it has as many records as asked for, or the timeout: ask for no
    // more than are left (the last batch came 200 ms late), and wait briefly (offsets
    // compacted away leave fewer).
    auto want = std::min<int64_t>(static_cast<int64_t>(msgs.size()), hi - position);
    auto n = rd_kafka_consume_batch_queue(queue.get(), 10, msgs.data(),
                                          static_cast<size_t>(want));
    if (n <= 0)
      continue;
    // Keep the records up to the high watermark of the start; errors are retried by
    // librdkafka and only logged here.
    size_t keep = 0;
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[static_cast<size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < hi && m->offset >= position) {
        position = m->offset + 1;
        result.bytes += m->len + m->key_len;
        msgs[keep++] = m;
      } else {
        if (m->err)
          log_->warn("[{}/{}] {}", topic, partition, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
      }
    }
    struct destroyer {
      std::vector<rd_kafka_message_t*>& msgs;
      size_t n;
      ~destroyer() {
        for (size_t i = 0; i < n; ++i)
          rd_kafka_message_destroy(msgs[i]);
      }
    } destroy_after{msgs, keep};
    if (keep > 0)
      apply(msgs.data(), keep);
    result.records += keep;
  }
  return result;
}

} // namespace partita
