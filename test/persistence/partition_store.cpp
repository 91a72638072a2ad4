#define CAF_SUITE persistence.partition_store

#include "persistence/partition_store.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <string>
#include <vector>

using namespace partita;

namespace {

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-store-test-" + std::to_string(::getpid()));
  fixture() { std::filesystem::remove_all(dir); }
  ~fixture() { std::filesystem::remove_all(dir); }
  store_config config(std::size_t map = std::size_t{1} << 20) { return {dir / "p", map, false}; }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(partition_store_tests, fixture)

CAF_TEST(a committed batch is read back) {
  partition_store store{config()};
  partition_store::write_batch batch{store};
  batch.put("alice", "1");
  batch.put("bob", "2");
  batch.set_meta("offset.clicks.0", 41);
  batch.commit();
  CAF_CHECK_EQUAL(store.get("alice").value_or(""), "1");
  CAF_CHECK_EQUAL(store.get("bob").value_or(""), "2");
  CAF_CHECK_EQUAL(store.meta("offset.clicks.0").value_or(-1), 41);
  CAF_CHECK_EQUAL(store.size(), 2u);
}

CAF_TEST(a key not found is an empty optional) {
  partition_store store{config()};
  CAF_CHECK(!store.get("nobody"));
  CAF_CHECK(!store.meta("nothing"));
}

CAF_TEST(an uncommitted batch writes nothing) {
  partition_store store{config()};
  {
    partition_store::write_batch batch{store};
    batch.put("alice", "1");
    batch.set_meta("offset", 7);
    CAF_CHECK_EQUAL(batch.get("alice").value_or(""), "1"); // the batch sees its own change
  }
  CAF_CHECK(!store.get("alice"));
  CAF_CHECK(!store.meta("offset"));
}

CAF_TEST(erase removes a key and the batch sees it) {
  partition_store store{config()};
  partition_store::write_batch first{store};
  first.put("alice", "1");
  first.commit();
  partition_store::write_batch second{store};
  CAF_CHECK_EQUAL(second.get("alice").value_or(""), "1");
  second.erase("alice");
  CAF_CHECK(!second.get("alice"));
  second.erase("never-there");
  second.commit();
  CAF_CHECK(!store.get("alice"));
  CAF_CHECK_EQUAL(store.size(), 0u);
}

CAF_TEST(state and offsets survive reopening) {
  {
    partition_store store{config()};
    partition_store::write_batch batch{store};
    batch.put("k", "v");
    batch.set_meta("applied", 99);
    batch.commit();
  }
  partition_store reopened{config()};
  CAF_CHECK_EQUAL(reopened.get("k").value_or(""), "v");
  CAF_CHECK_EQUAL(reopened.meta("applied").value_or(-1), 99);
}

CAF_TEST(a full map grows instead of failing) {
  partition_store store{config(64 * 1024)};
  auto before = store.map_size();
  std::string value(1000, 'x');
  for (int round = 0; round < 4; ++round) {
    partition_store::write_batch batch{store};
    for (int i = 0; i < 500; ++i)
      batch.put("key-" + std::to_string(round) + "-" + std::to_string(i), value);
    batch.set_meta("round", round);
    batch.commit();
  }
  CAF_CHECK_GREATER(store.map_size(), before);
  CAF_CHECK_EQUAL(store.size(), 2000u);
  CAF_CHECK_EQUAL(store.meta("round").value_or(-1), 3);
  CAF_CHECK_EQUAL(store.get("key-3-499").value_or(""), value);
}

CAF_TEST(for_each visits keys in order) {
  partition_store store{config()};
  partition_store::write_batch batch{store};
  batch.put("b", "2");
  batch.put("a", "1");
  batch.commit();
  std::string seen;
  store.for_each([&](std::string_view k, std::string_view v) {
    seen += std::string{k} + "=" + std::string{v} + ";";
  });
  CAF_CHECK_EQUAL(seen, "a=1;b=2;");
}

CAF_TEST(batches past the last key and among the keys both land) {
  partition_store store{config(std::size_t{1} << 22)};
  auto commit = [&](const std::vector<std::pair<std::string, std::optional<std::string>>>& c) {
    partition_store::write_batch batch{store};
    for (const auto& [key, value] : c)
      batch.set(key, value);
    batch.commit();
  };
  auto contents = [&] {
    std::string out;
    store.for_each([&](std::string_view k, std::string_view v) {
      out += std::string{k} + "=" + std::string{v} + " ";
    });
    return out;
  };
  // Into the empty table (appended), with an erase of a key that is not there.
  commit({{"k3", "a"}, {"k1", "b"}, {"k2", std::nullopt}, {"k5", "c"}});
  CAF_CHECK_EQUAL(contents(), "k1=b k3=a k5=c ");
  // Past the last key again, and then among the keys: an overwrite, an erase, an insert.
  commit({{"k7", "d"}, {"k6", "e"}});
  commit({{"k3", "f"}, {"k5", std::nullopt}, {"k4", "g"}, {"k9", "h"}});
  CAF_CHECK_EQUAL(contents(), "k1=b k3=f k4=g k6=e k7=d k9=h ");
  // A batch whose first key is the last one's is not appended: it overwrites it.
  commit({{"k9", "i"}, {"k99", "j"}});
  CAF_CHECK_EQUAL(store.get("k9").value_or(""), "i");
  CAF_CHECK_EQUAL(store.size(), 7u);
  // Many keys past the last in one batch (a recovery's), each one kept.
  partition_store::write_batch big{store};
  for (int i = 0; i < 20000; ++i)
    big.put("z" + std::to_string(i), std::to_string(i));
  big.commit();
  CAF_CHECK_EQUAL(store.size(), 20007u);
  CAF_CHECK_EQUAL(store.get("z12345").value_or(""), "12345");
}

CAF_TEST(clear removes the table but keeps offsets) {
  partition_store store{config()};
  partition_store::write_batch batch{store};
  batch.put("a", "1");
  batch.set_meta("applied", 5);
  batch.commit();
  store.clear();
  CAF_CHECK_EQUAL(store.size(), 0u);
  CAF_CHECK_EQUAL(store.meta("applied").value_or(-1), 5);
}

CAF_TEST(path_for sanitises topic names) {
  auto p = partition_store::path_for("/state", "clickcount", "clicks", 3);
  CAF_CHECK_EQUAL(p.string(), "/state/clickcount/clicks.3");
  auto evil = partition_store::path_for("/state", "..", "../../etc/x", 0);
  CAF_CHECK_EQUAL(evil.string(), "/state/_../.._.._etc_x.0");
}

CAF_TEST(an unusable directory is a clear error) {
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "file"} << "x";
  std::string message;
  try {
    partition_store store{store_config{dir / "file" / "p"}};
  } catch (const store_error& e) {
    message = e.what();
  }
  CAF_CHECK(message.find("cannot create state directory") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
