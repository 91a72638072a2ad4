#include "actors/partition_figures.hpp"

namespace partita {

partition_actor_figures::partition_actor_figures(metrics& m, int32_t partition)
  : registry(m),
    store_bytes(m.gauge("partita_store_bytes", "Bytes of each partition's LMDB state in use.",
                        partition_labels(partition))),
    recovered(m.counter("partita_recovery_records_total",
                        "Changelog records replayed into each partition's state.",
                        partition_labels(partition))),
    recovery_progress(m.gauge("partita_recovery_progress_ratio",
                              "How far each partition's recovery from its changelog is (1: "
                              "done).",
                              partition_labels(partition), 0.001)),
    commit_latency(m.summary("partita_commit_latency_seconds",
                             "From fetching a batch of records to its offsets being committable "
                             "(state applied, effects acknowledged by Kafka).",
                             {}, 1e-6)),
    partition_(partition) {}

/// A partition's gauge, registered when first set (shown only by partitions that use it).
void partition_actor_figures::set_gauge(metrics::figure*& gauge, const char* name,
                                        const char* help, std::size_t value) {
  if (gauge == nullptr)
    gauge = &registry.gauge(name, help, partition_labels(partition_));
  *gauge = static_cast<int64_t>(value);
}

void partition_actor_figures::count_timers(std::size_t pending) {
  set_gauge(timers_pending, "partita_timers_pending",
            "Timers of each partition not fired or cancelled yet (timers fired count in "
            "partita_records_processed_total with topic <group>-timers).",
            pending);
}

void partition_actor_figures::count_deferred(std::size_t open) {
  set_gauge(deferred_records, "partita_deferred_records",
            "Records of each partition whose commit waits for its handle (ctx.defer_commit()); "
            "at max_in_flight the partition takes no more.",
            open);
}

metrics::figure& partition_actor_figures::late_windows() {
  if (late_windows_ == nullptr)
    late_windows_ = &registry.counter("partita_window_late_total",
                                      "Window updates of records that came after their window "
                                      "had closed (its end plus grace passed by the "
                                      "partition's stream time): not applied; by partition.",
                                      partition_labels(partition_));
  return *late_windows_;
}

metrics::figure& partition_actor_figures::processed(const std::string& topic) {
  auto& f = processed_[topic];
  if (f == nullptr)
    f = &registry.counter("partita_records_processed_total",
                          "Input records applied by behaviors, by topic.", {{"topic", topic}});
  return *f;
}

metrics::figure& partition_actor_figures::emitted(const std::string& topic) {
  auto& f = emitted_[topic];
  if (f == nullptr)
    f = &registry.counter("partita_records_produced_total",
                          "Records produced (changelog, outputs, dead letters), by topic.",
                          {{"topic", topic}});
  return *f;
}

metrics::figure& partition_actor_figures::dead_lettered(const std::string& topic) {
  auto& f = dead_lettered_[topic];
  if (f == nullptr)
    f = &registry.counter("partita_records_dead_lettered_total",
                          "Input records that could not be processed and went to the "
                          "dead-letter topic, by input topic.",
                          {{"topic", topic}});
  return *f;
}

} // namespace partita
