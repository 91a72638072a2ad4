#include "test/support/kafka_client.hpp"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

namespace partita::test {

namespace {

using handle = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;

handle make_client(rd_kafka_type_t type, const std::string& bootstrap,
                   std::vector<std::pair<std::string, std::string>> settings,
                   void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  settings.emplace_back("bootstrap.servers", bootstrap);
  settings.emplace_back("log_level", "3");
  for (auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error("test client config " + k + ": " + err);
  if (dr != nullptr)
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr)
    throw std::runtime_error(std::string{"test client: "} + err);
  return handle{rk, &rd_kafka_destroy};
}

struct delivery_count {
  std::atomic<std::size_t> ok{0};
  std::atomic<std::size_t> failed{0};
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  // The message's own opaque (RD_KAFKA_V_OPAQUE) arrives as msg->_private.
  auto* count = static_cast<delivery_count*>(msg->_private);
  (msg->err ? count->failed : count->ok)++;
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, t, &md, 10000);
  rd_kafka_topic_destroy(t);
  if (err)
    throw std::runtime_error("metadata of " + topic + ": " + rd_kafka_err2str(err));
  int n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  return n;
}

} // namespace

std::size_t produce_timed(const std::string& bootstrap, const std::string& topic,
                          const std::vector<timed_record>& records) {
  delivery_count count;
  auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap,
                        {{"partitioner", "fnv1a_random"},
                         {"enable.idempotence", "true"},
                         {"linger.ms", "5"}},
                        &on_delivery);
  for (const auto& r : records) {
    for (;;) {
      auto err = rd_kafka_producev(
        rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_TIMESTAMP(r.timestamp), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(&count), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 10);
        continue;
      }
      if (err)
        throw std::runtime_error("produce to " + topic + ": " + rd_kafka_err2str(err));
      break;
    }
    rd_kafka_poll(rk.get(), 0);
  }
  while (count.ok + count.failed < records.size())
    rd_kafka_poll(rk.get(), 100);
  return count.ok;
}

std::size_t produce(const std::string& bootstrap, const std::string& topic,
                    const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<timed_record> timed;
  timed.reserve(records.size());
  for (const auto& [key, value] : records)
    timed.push_back({key, value, 0}); // 0: the producer's clock
  return produce_timed(bootstrap, topic, timed);
}

std::pair<int64_t, int64_t> watermarks(const std::string& bootstrap, const std::string& topic,
                                       int32_t partition) {
  auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {});
  int64_t lo = 0;
  int64_t hi = 0;
  auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &lo, &hi, 10000);
  if (err)
    throw std::runtime_error("watermarks of " + topic + ": " + rd_kafka_err2str(err));
  return {lo, hi};
}

std::vector<kafka_record> read_topic(const std::string& bootstrap, const std::string& topic) {
  auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap,
                        {{"group.id", "partita-test-reader"},
                         {"enable.auto.commit", "false"},
                         {"enable.partition.eof", "true"},
                         {"fetch.wait.max.ms", "10"}});
  int partitions = partition_count(rk.get(), topic);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  int remaining = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0;
    int64_t hi = 0;
    auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000);
    if (err)
      throw std::runtime_error("watermarks of " + topic + ": " + rd_kafka_err2str(err));
    if (hi > lo) {
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = lo;
      ++remaining;
    }
  }
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<kafka_record> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{120};
  while (remaining > 0) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("read_topic " + topic + ": timed out");
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk.get(), 200);
    if (msg == nullptr)
      continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --remaining;
    } else if (msg->err == 0) {
      kafka_record r;
      r.partition = msg->partition;
      r.offset = msg->offset;
      r.timestamp = rd_kafka_message_timestamp(msg, nullptr);
      if (msg->key)
        r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
      if (msg->payload)
        r.value.assign(static_cast<const char*>(msg->payload), msg->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(msg, &hdrs) == 0) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i)
          r.headers[name] = value ? std::string{static_cast<const char*>(value), size} : "";
      }
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

std::vector<int64_t> committed(const std::string& bootstrap, const std::string& group,
                               const std::string& topic, int partitions) {
  auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", group}});
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p);
  auto err = rd_kafka_committed(rk.get(), parts, 10000);
  std::vector<int64_t> out(static_cast<size_t>(partitions), -1);
  if (!err)
    for (int i = 0; i < parts->cnt; ++i)
      out[static_cast<size_t>(parts->elems[i].partition)] =
        parts->elems[i].err ? -1 : parts->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(parts);
  if (err)
    throw std::runtime_error(std::string{"committed offsets: "} + rd_kafka_err2str(err));
  return out;
}

std::map<std::string, std::string> latest_by_key(const std::vector<kafka_record>& records) {
  std::map<std::string, std::string> out;
  for (const auto& r : records)
    out[r.key] = r.value;
  return out;
}

std::map<std::string, int64_t> count_by_key(const std::vector<kafka_record>& records) {
  std::map<std::string, int64_t> out;
  for (const auto& r : records)
    ++out[r.key];
  return out;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return done();
    std::this_thread::sleep_for(every); // polling interval of a condition with a deadline
  }
  return true;
}

} // namespace partita::test
