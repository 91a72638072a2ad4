#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace partita {

/// librdkafka properties by name (`bootstrap.servers`, `security.protocol`, ...), passed
/// through unchanged.
using kafka_properties = std::map<std::string, std::string>;

/// A setting that cannot be used; the message names the setting and what is allowed.
class config_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// `base` with every property of `overrides` set over it.
kafka_properties overridden(kafka_properties base, const kafka_properties& overrides);

/// The partition of `key` among `partitions`, where Sarama (Goka) and Partita's producer put it
/// (fnv1a).
inline int32_t key_partition(std::string_view key, int32_t partitions) {
  return rd_kafka_msg_partitioner_fnv1a(nullptr, key.data(), key.size(), partitions, nullptr,
                                        nullptr);
}

/// A librdkafka configuration from `defaults` overridden by `overrides`; throws config_error
/// naming the first property librdkafka refuses. The caller owns the result.
rd_kafka_conf_t* make_kafka_conf(const kafka_properties& defaults,
                                 const kafka_properties& overrides = {});

/// Adds `NAME=VALUE` settings (as given on a command line) to `out`; throws config_error for
/// one without `=` or with an empty name.
void parse_kafka_properties(const std::vector<std::string>& settings, kafka_properties& out);

/// True when `rk` is connected to librdkafka's mock cluster (the embedded cluster, in this
/// process or in partita-cluster), which names itself "mockCluster..." in metadata. Waits up
/// to `timeout` for the cluster's id.
bool is_mock_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout);

} // namespace partita
