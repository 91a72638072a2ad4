#include "runtime/kafka_config.hpp"

#include <memory>

namespace partita {

kafka_properties overridden(kafka_properties base, const kafka_properties& overrides) {
  for (const auto& [name, value] : overrides)
    base[name] = value;
  return base;
}

rd_kafka_conf_t* make_kafka_conf(const kafka_properties& defaults,
                                 const kafka_properties& overrides,
                                 const kafka_properties& fixed) {
  auto all = overridden(overridden(defaults, overrides), fixed);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw config_error("kafka property '" + k + "=" + v + "': " + err +
                         " (see librdkafka's CONFIGURATION.md)");
    }
  }
  return conf;
}

rd_kafka_t* new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf, const std::string& what) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw config_error("cannot create " + what + ": " + err);
  }
  return rk;
}

kafka_properties groupless_consumer(const std::string& name) {
  return {{"group.id", name},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"}};
}

void parse_kafka_properties(const std::vector<std::string>& settings, kafka_properties& out) {
  for (const auto& s : settings) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw config_error("bad Kafka property '" + s +
                         "': write NAME=VALUE, e.g. session.timeout.ms=10000");
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
}

void wake_fetchers(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* partitions) {
  if (partitions->cnt == 0)
    return;
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>
    request{rd_kafka_topic_partition_list_copy(partitions), &rd_kafka_topic_partition_list_destroy};
  for (int i = 0; i < request->cnt; ++i)
    request->elems[i].offset = RD_KAFKA_OFFSET_END;
  rd_kafka_offsets_for_times(rk, request.get(), 1);
}

bool is_mock_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
  char* id = rd_kafka_clusterid(rk, static_cast<int>(timeout.count()));
  if (id == nullptr)
    return false;
  bool mock = std::string_view{id}.starts_with("mockCluster");
  rd_kafka_mem_free(rk, id);
  return mock;
}

} // namespace partita
