#include "runtime/kafka_producer.hpp"

#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace partita {

void kafka_producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  static_cast<kafka_producer*>(opaque)->unacknowledged_.fetch_sub(1, std::memory_order_relaxed);
  if (auto* handler = static_cast<delivery_handler*>(msg->_private))
    handler->delivered(msg->err, msg->partition, msg->offset);
}

namespace {

/// What the poll thread's eventfd is written with (by librdkafka and by wake()).
constexpr uint64_t wake_value = 1;

void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    logger("producer")->critical("fatal producer error: {}", buf);
    return;
  }
  logger("producer")->warn("{} ({})", reason, rd_kafka_err2name(code));
}

} // namespace

kafka_properties producer_defaults() {
  return {
    {"enable.idempotence", "true"},
    // Sarama's hash partitioner: FNV-1a of the key, random for records without a key.
    {"partitioner", "fnv1a_random"},
    // A broker fault never fails a record: it waits for the leader to come back.
    {"message.timeout.ms", "0"},
    {"linger.ms", "5"},
    {"batch.num.messages", "10000"},
    {"queue.buffering.max.messages", "1000000"},
    {"queue.buffering.max.kbytes", "1048576"},
    {"log_level", "4"},
  };
}

kafka_producer::kafka_producer(const kafka_properties& properties) {
  adaptive_linger_ =
    !properties.contains("linger.ms") && !properties.contains("queue.buffering.max.ms");
  rd_kafka_conf_t* conf = make_kafka_conf(producer_defaults(), properties);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_conf_set_error_cb(conf, &on_error);
  rk_ = new_client(RD_KAFKA_PRODUCER, conf, "a Kafka producer");
  // The poll thread sleeps on one eventfd, written by librdkafka when a report arrives for an
  // empty queue and by produce() when a record wants sending at once.
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    rd_kafka_destroy(rk_);
    throw config_error(std::string{"cannot create a Kafka producer: eventfd: "} +
                       std::strerror(errno));
  }
  auto* reports = rd_kafka_queue_get_main(rk_);
  rd_kafka_queue_io_event_enable(reports, wake_fd_, &wake_value, sizeof wake_value);
  rd_kafka_queue_destroy(reports);
  poller_ = std::thread{[this] { serve(); }};
}

kafka_producer::~kafka_producer() {
  if (rd_kafka_flush(rk_, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    logger("producer")->warn("closing with {} records not acknowledged", rd_kafka_outq_len(rk_));
  stop_ = true;
  wake();
  poller_.join();
  rd_kafka_destroy(rk_);
  ::close(wake_fd_);
}

void kafka_producer::serve() {
  pollfd woken{wake_fd_, POLLIN, 0};
  while (!stop_) {
    // librdkafka sends without lingering while a flush runs; a millisecond covers the broker
    // threads' wake-up and whatever else is produced meanwhile.
    if (send_now_.exchange(false)) {
      rd_kafka_flush(rk_, 1);
      continue;
    }
    while (rd_kafka_poll(rk_, 0) > 0) {
    }
    ::poll(&woken, 1, 100); // the queue served, a write comes with the next report or record
    uint64_t n = 0;
    if (::read(wake_fd_, &n, sizeof n) < 0 && errno != EAGAIN)
      logger("producer")->warn("wake-up: {}", std::strerror(errno));
  }
}

void kafka_producer::wake() {
  if (::write(wake_fd_, &wake_value, sizeof wake_value) < 0 && errno != EAGAIN)
    logger("producer")->warn("wake-up: {}", std::strerror(errno));
}

void kafka_producer::produce(const std::string& topic, int32_t partition, std::string_view key,
                             std::string_view value, delivery_handler* handler,
                             const std::vector<header>* headers) {
  for (bool warned = false;;) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (headers != nullptr && !headers->empty()) {
      hdrs = rd_kafka_headers_new(headers->size());
      for (const auto& h : *headers)
        rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
    }
    auto err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(handler),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) { // the record owns the headers now
      if (unacknowledged_.fetch_add(1, std::memory_order_relaxed) < light_load &&
          adaptive_linger_ && !send_now_.exchange(true))
        wake();
      return;
    }
    if (hdrs != nullptr)
      rd_kafka_headers_destroy(hdrs);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw kafka_error(err, "produce to " + topic);
    // The local queue is full (brokers slow or away): wait for room rather than fail.
    if (!warned)
      logger("producer")->warn("produce queue full ({} records); waiting", outstanding());
    warned = true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

bool kafka_producer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(rk_, static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

int kafka_producer::outstanding() const {
  return rd_kafka_outq_len(rk_);
}

} // namespace partita
