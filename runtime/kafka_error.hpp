#pragma once

#include <stdexcept>
#include <string>

#include <librdkafka/rdkafka.h>

namespace partita {

/// A Kafka client or cluster operation that failed, with librdkafka's error code.
class kafka_error : public std::runtime_error {
public:
  kafka_error(rd_kafka_resp_err_t code, const std::string& what)
    : std::runtime_error(what + ": " + rd_kafka_err2str(code)), code_(code) {}
  rd_kafka_resp_err_t code() const noexcept { return code_; }

private:
  rd_kafka_resp_err_t code_;
};

/// Throws kafka_error unless `code` is RD_KAFKA_RESP_ERR_NO_ERROR.
inline void check(rd_kafka_resp_err_t code, const std::string& what) {
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw kafka_error(code, what);
}

} // namespace partita
