// partita-micro: Google Benchmark micro-benchmarks of the pieces every record goes through —
// codecs, the partition store's batch write, and the context a behavior sees a record through.

#include "actors/engine_context.hpp"
#include "persistence/partition_store.hpp"
#include "runtime/codec.hpp"
#include "runtime/group_graph.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace partita;
using detail::engine_context;
using detail::key_of;

void int64_decode(benchmark::State& state) {
  int64_codec codec;
  auto bytes = codec.encode(1234567);
  for (auto _ : state)
    benchmark::DoNotOptimize(codec.decode(bytes));
}
BENCHMARK(int64_decode);

void int64_encode(benchmark::State& state) {
  int64_codec codec;
  int64_t v = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(codec.encode(++v));
}
BENCHMARK(int64_encode);

void json_roundtrip(benchmark::State& state) {
  json_codec codec;
  nlohmann::json doc{{"user", "alice"}, {"item", "book"}, {"cents", 1299}};
  for (auto _ : state)
    benchmark::DoNotOptimize(codec.decode(codec.encode(doc)));
}
BENCHMARK(json_roundtrip);

/// A partition store in a scratch directory and the records of a click count over 1,000 keys,
/// for the batch benchmarks below. The records are plain structs, not librdkafka's: a behavior
/// run over them must not ask for their timestamp or headers.
struct click_batches {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-micro-" + std::to_string(::getpid()));
  std::optional<partition_store> store;
  std::vector<std::string> keys;
  std::vector<rd_kafka_message_t> records;
  size_t next = 0;

  click_batches() {
    std::filesystem::remove_all(dir);
    store.emplace(store_config{dir});
    for (int i = 0; i < 1000; ++i)
      keys.push_back("user-" + std::to_string(i));
    records.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      records[i].key = keys[i].data();
      records[i].key_len = keys[i].size();
      records[i].payload = const_cast<char*>("click");
      records[i].len = 5;
    }
  }
  click_batches(const click_batches&) = delete;
  click_batches& operator=(const click_batches&) = delete;
  ~click_batches() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  const rd_kafka_message_t* record() { return &records[next++ % records.size()]; }
};

/// One LMDB transaction of `range(0)` read-modify-writes, written by hand as the benchmarks'
/// baseline does it.
void store_batch(benchmark::State& state) {
  click_batches clicks;
  int64_codec codec;
  for (auto _ : state) {
    partition_store::write_batch batch{*clicks.store};
    for (int64_t i = 0; i < state.range(0); ++i) {
      auto key = key_of(clicks.record());
      auto old = batch.get(key);
      batch.put(key, codec.encode((old ? codec.decode(*old) : 0) + 1));
    }
    batch.set_meta("applied:clicks", static_cast<int64_t>(clicks.next));
    batch.commit();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(store_batch)->Arg(100)->Arg(1000)->Arg(10000);

/// The same batch through a click-count behavior and the context a partition actor gives it
/// (decoding, the table lookup, each record's change kept apart until it succeeds). Against
/// store_batch, the context's overhead per record.
void context_batch(benchmark::State& state) {
  click_batches clicks;
  group_graph<int64_codec> graph{"micro"};
  graph.input("clicks", bytes_codec{}, [](auto& ctx, const std::string&) {
    ctx.set_value(ctx.value().value_or(0) + 1);
  });
  auto definition = graph.definition();
  const auto* input = definition.input("clicks");
  const std::string topic = "clicks";
  for (auto _ : state) {
    partition_store::write_batch batch{*clicks.store};
    engine_context ctx{definition, topic, batch};
    for (int64_t i = 0; i < state.range(0); ++i) {
      ctx.set_record(clicks.record());
      input->handle(ctx);
      ctx.keep();
    }
    batch.set_meta("applied:clicks", static_cast<int64_t>(clicks.next));
    batch.commit();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(context_batch)->Arg(100)->Arg(1000)->Arg(10000);

} // namespace

BENCHMARK_MAIN();
