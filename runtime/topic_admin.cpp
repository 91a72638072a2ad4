#include "runtime/topic_admin.hpp"

#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_error.hpp"
#include "runtime/logger.hpp"

#include <algorithm>
#include <memory>

namespace partita {

namespace {

using handle = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;

handle admin_client(const kafka_properties& properties) {
  return handle{new_client(RD_KAFKA_PRODUCER, make_kafka_conf({{"log_level", "3"}}, properties),
                          "a Kafka client"),
                &rd_kafka_destroy};
}

std::string servers(const kafka_properties& properties) {
  auto i = properties.find("bootstrap.servers");
  return i == properties.end() ? "(no bootstrap.servers)" : i->second;
}

void create_with_admin_api(rd_kafka_t* rk, const std::vector<std::string>& topics,
                           const topic_requirements& need, int partitions,
                           std::chrono::milliseconds timeout) {
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> specs;
  for (const auto& t : topics) {
    auto* spec = rd_kafka_NewTopic_new(t.c_str(), partitions, need.replication_factor, err,
                                       sizeof err);
    if (spec == nullptr)
      throw config_error("cannot create topic " + t + ": " + err);
    if (std::find(need.compacted.begin(), need.compacted.end(), t) != need.compacted.end())
      rd_kafka_NewTopic_set_config(spec, "cleanup.policy", "compact");
    specs.push_back(spec);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, specs.data(), specs.size(), nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()));
  std::string problem;
  if (ev == nullptr) {
    problem = "no answer to CreateTopics";
  } else if (rd_kafka_event_error(ev)) {
    problem = rd_kafka_event_error_string(ev);
  } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto code = rd_kafka_topic_result_error(results[i]);
      if (code && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        problem += std::string{rd_kafka_topic_result_name(results[i])} + ": " +
                   rd_kafka_err2str(code) + "; ";
    }
  }
  if (ev != nullptr)
    rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(specs.data(), specs.size());
  if (!problem.empty())
    throw config_error("cannot create topics: " + problem +
                       " (create them yourself, or allow this client to)");
}

} // namespace

metadata_client::metadata_client(const kafka_properties& properties)
  : servers_(servers(properties)), rk_(admin_client(properties).release()) {}

metadata_client::~metadata_client() {
  rd_kafka_destroy(rk_);
}

std::map<std::string, int> metadata_client::partition_counts(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk_, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err)
    throw config_error("cannot reach Kafka at " + servers_ + ": " + rd_kafka_err2str(err) +
                       " (check --brokers and that the brokers are running)");
  std::map<std::string, int> out;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return out;
}

std::map<std::string, int> partition_counts(const kafka_properties& properties,
                                            std::chrono::milliseconds timeout) {
  return metadata_client{properties}.partition_counts(timeout);
}

int ensure_topics(const kafka_properties& properties, const topic_requirements& need,
                  embedded_cluster* cluster, std::chrono::milliseconds timeout) {
  auto log = logger("processor");
  auto existing = partition_counts(properties, timeout);
  int partitions = -1;
  std::string first;
  std::string counts;
  for (const auto& t : need.copartitioned) {
    auto i = existing.find(t);
    if (i == existing.end())
      continue;
    counts += " " + t + "=" + std::to_string(i->second);
    if (partitions == -1) {
      partitions = i->second;
      first = t;
    } else if (i->second != partitions) {
      partitions = -2;
    }
  }
  if (partitions == -2)
    throw config_error("topics are not co-partitioned (partition counts:" + counts +
                       "); a group's inputs, table and loop need the same partition count");
  if (partitions == -1)
    partitions = need.default_partitions;
  auto create = [&](const std::vector<std::string>& topics) {
    std::vector<std::string> missing;
    for (const auto& t : topics)
      if (!existing.contains(t))
        missing.push_back(t);
    if (missing.empty())
      return;
    for (const auto& t : missing)
      log->info("creating topic {} with {} partitions", t, partitions);
    if (cluster != nullptr) {
      int rf = need.replication_factor > 0 ? need.replication_factor
                                           : std::min(3, cluster->brokers());
      for (const auto& t : missing) {
        try {
          cluster->create_topic(t, partitions, rf);
        } catch (const kafka_error& e) {
          // Another member of the group created it first.
          if (e.code() != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            throw;
        }
      }
    } else {
      auto rk = admin_client(properties);
      create_with_admin_api(rk.get(), missing, need, partitions, timeout);
    }
  };
  create(need.copartitioned);
  create(need.other);
  return partitions;
}

} // namespace partita
