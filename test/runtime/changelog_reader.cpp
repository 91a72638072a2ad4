#define CAF_SUITE runtime.changelog_reader

#include "runtime/changelog_reader.hpp"

#include "runtime/embedded_cluster.hpp"
#include "runtime/kafka_producer.hpp"

#include <caf/test/unit_test.hpp>

#include <future>
#include <string>
#include <vector>

using namespace partita;

namespace {

/// What one read handed over, in order.
struct read_back {
  partition_read result;
  std::vector<int64_t> offsets;
  std::vector<std::string> values;
  std::pair<int64_t, int64_t> range{-1, -1};
};

read_back read(changelog_reader& reader, int32_t partition, int64_t from,
               const std::atomic<bool>& cancel) {
  read_back out;
  out.result = reader.read(
    "log", partition, from, cancel,
    [&](rd_kafka_message_t** msgs, size_t n) {
      for (size_t i = 0; i < n; ++i) {
        out.offsets.push_back(msgs[i]->offset);
        out.values.emplace_back(static_cast<const char*>(msgs[i]->payload), msgs[i]->len);
      }
    },
    std::chrono::seconds{30}, [&](int64_t b, int64_t e) { out.range = {b, e}; });
  return out;
}

/// Offsets from..to-1, each record's value "p<partition>-<offset>".
void check_exact(const read_back& r, int32_t partition, int64_t from, int64_t to) {
  CAF_CHECK_EQUAL(r.result.next_offset, to);
  CAF_CHECK_EQUAL(r.result.records, static_cast<uint64_t>(to - from));
  CAF_CHECK_EQUAL(r.range, std::make_pair(from, to));
  CAF_REQUIRE_EQUAL(r.offsets.size(), static_cast<size_t>(to - from));
  for (int64_t i = 0; i < to - from; ++i) {
    CAF_CHECK_EQUAL(r.offsets[i], from + i);
    CAF_CHECK_EQUAL(r.values[i], "p" + std::to_string(partition) + "-" + std::to_string(from + i));
  }
}

struct fixture {
  /// Without elections: a partition whose leader is down has none until it is back.
  embedded_cluster cluster{3, election_settings{false}};
  std::atomic<bool> no_cancel{false};
  /// Records in partitions 0..2 of "log" (partition 3 stays empty).
  static constexpr int64_t per_partition = 3000;

  fixture() {
    cluster.create_topic("log", 4, 3);
    kafka_producer producer{{{"bootstrap.servers", cluster.bootstrap_servers()}}};
    for (int32_t p = 0; p < 3; ++p)
      for (int64_t i = 0; i < per_partition; ++i)
        producer.produce("log", p, "k" + std::to_string(i % 100),
                         "p" + std::to_string(p) + "-" + std::to_string(i), nullptr);
    CAF_REQUIRE(producer.flush(std::chrono::seconds{30}));
  }

  kafka_properties properties() const {
    return {{"bootstrap.servers", cluster.bootstrap_servers()}};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(changelog_reader_tests, fixture)

CAF_TEST(reads of several partitions side by side each get exactly their records) {
  changelog_reader reader{properties()};
  std::vector<std::future<read_back>> reads;
  for (int32_t p = 0; p < 4; ++p)
    reads.push_back(std::async(std::launch::async, [&, p] { return read(reader, p, 0, no_cancel); }));
  for (int32_t p = 0; p < 3; ++p)
    check_exact(reads[static_cast<size_t>(p)].get(), p, 0, per_partition);
  auto empty = reads[3].get();
  CAF_CHECK_EQUAL(empty.result.next_offset, 0);
  CAF_CHECK_EQUAL(empty.result.records, 0u);
  CAF_CHECK_EQUAL(empty.range, std::make_pair(int64_t{0}, int64_t{0}));
}

CAF_TEST(a partition read again from within gets the rest and nothing of the read before) {
  changelog_reader reader{properties()};
  check_exact(read(reader, 0, 0, no_cancel), 0, 0, per_partition);
  check_exact(read(reader, 0, 1234, no_cancel), 0, 1234, per_partition);
  check_exact(read(reader, 0, per_partition, no_cancel), 0, per_partition, per_partition);
}

CAF_TEST(two reads of one partition take turns and both get every record) {
  changelog_reader reader{properties()};
  auto a = std::async(std::launch::async, [&] { return read(reader, 1, 0, no_cancel); });
  auto b = std::async(std::launch::async, [&] { return read(reader, 1, 10, no_cancel); });
  check_exact(a.get(), 1, 0, per_partition);
  check_exact(b.get(), 1, 10, per_partition);
}

CAF_TEST(a read cancelled or failing stops and the partition can be read again) {
  changelog_reader reader{properties()};
  std::atomic<bool> cancel{true};
  bool cancelled = false;
  try {
    reader.read("log", 2, 0, cancel, [](rd_kafka_message_t**, size_t) {});
  } catch (const read_cancelled&) {
    cancelled = true;
  }
  CAF_CHECK(cancelled);
  // An error in applying the records (a full disk, say) ends the read with it.
  uint64_t seen = 0;
  std::string failed;
  try {
    reader.read("log", 2, 0, no_cancel, [&](rd_kafka_message_t**, size_t n) {
      seen += n;
      throw std::runtime_error("cannot apply");
    });
  } catch (const std::runtime_error& e) {
    failed = e.what();
  }
  CAF_CHECK_EQUAL(failed, "cannot apply");
  CAF_CHECK_GREATER(seen, 0u);
  check_exact(read(reader, 2, 0, no_cancel), 2, 0, per_partition);
  check_exact(read(reader, 2, 2999, no_cancel), 2, 2999, per_partition);
}

CAF_TEST(a read waits for a partition whose leader is down and ends once it is back) {
  changelog_reader reader{properties()};
  cluster.move_leader("log", 0, 2);
  cluster.broker_down(2);
  auto r = std::async(std::launch::async, [&] { return read(reader, 0, 0, no_cancel); });
  // No other broker can lead partition 0: however long it is given, the read cannot end.
  CAF_CHECK(r.wait_for(std::chrono::milliseconds{500}) == std::future_status::timeout);
  cluster.broker_up(2);
  check_exact(r.get(), 0, 0, per_partition);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(a reader librdkafka refuses to create is a clear error) {
  std::string message;
  try {
    changelog_reader reader{{{"bootstrap.servers", "127.0.0.1:1"},
                             {"security.protocol", "ssl"},
                             {"ssl.ca.location", "/nonexistent/ca.pem"}}};
  } catch (const config_error& e) {
    message = e.what();
  }
  CAF_MESSAGE(message);
  CAF_CHECK(message.rfind("cannot create the changelog reader: ", 0) == 0);
  CAF_CHECK(message.find("ssl.ca.location") != std::string::npos);
}
