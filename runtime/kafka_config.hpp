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

/// A librdkafka configuration from `defaults` overridden by `overrides`, and `fixed` over both
/// (what the client cannot work without, whatever the user set); throws config_error naming
/// the first property librdkafka refuses. The caller owns the result.
rd_kafka_conf_t* make_kafka_conf(const kafka_properties& defaults,
                                 const kafka_properties& overrides = {},
                                 const kafka_properties& fixed = {});

/// A librdkafka client of `type` made with `conf` (taken in every case); throws config_error
/// "cannot create <what>: <librdkafka's reason>" when librdkafka refuses. The caller owns the
/// result.
rd_kafka_t* new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf, const std::string& what);

/// What a consumer that never joins its group must keep however the user's properties say
/// otherwise: its own group.id (librdkafka's assign needs one) and nothing committed or stored.
kafka_properties groupless_consumer(const std::string& name);

/// Adds `NAME=VALUE` settings (as given on a command line) to `out`; throws config_error for
/// one without `=` or with an empty name.
void parse_kafka_properties(const std::vector<std::string>& settings, kafka_properties& out);

/// Makes the broker threads fetching `partitions` (of a consumer) look at them at once.
/// librdkafka 2.0 does not wake a broker thread when a partition is resumed or assigned: if
/// every partition it fetches for was paused, it sleeps until its next timeout, up to a
/// second, and the resumed partitions wait with it (0.4 instead of 0.9 M records/s in the
/// throughput benchmark with 100k keys, where partitions pause often; a join's 600 records
/// took 1.0 s to recover instead of 0.1 s). A request to the partitions' leaders wakes their
/// threads; a thread that was awake anyway loses nothing worth measuring. The answer is not
/// needed: the call waits a millisecond and leaves librdkafka to drop it. With
/// fetch-from-follower the thread woken is the leader's, not necessarily the fetching one.
void wake_fetchers(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* partitions);

/// True when `rk` is connected to librdkafka's mock cluster (the embedded cluster, in this
/// process or in partita-cluster), which names itself "mockCluster..." in metadata. Waits up
/// to `timeout` for the cluster's id.
bool is_mock_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout);

} // namespace partita
