// partita-micro: Google Benchmark micro-benchmarks of the pieces every record goes through —
// codecs and the partition store's batch write.

#include "persistence/partition_store.hpp"
#include "runtime/codec.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace partita;

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

/// One LMDB transaction of `range(0)` read-modify-writes over 1,000 keys, as a batch of the
/// click count does.
void store_batch(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() /
             ("partita-micro-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    partition_store store{store_config{dir}};
    int64_codec codec;
    std::vector<std::string> keys;
    for (int i = 0; i < 1000; ++i)
      keys.push_back("user-" + std::to_string(i));
    size_t next = 0;
    for (auto _ : state) {
      partition_store::write_batch batch{store};
      for (int64_t i = 0; i < state.range(0); ++i) {
        const auto& key = keys[next++ % keys.size()];
        auto old = batch.get(key);
        batch.put(key, codec.encode((old ? codec.decode(*old) : 0) + 1));
      }
      batch.set_meta("applied:clicks", static_cast<int64_t>(next));
      batch.commit();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(store_batch)->Arg(100)->Arg(1000)->Arg(10000);

} // namespace

BENCHMARK_MAIN();
