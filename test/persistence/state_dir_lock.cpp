#define CAF_SUITE persistence.state_dir_lock

#include "persistence/state_dir_lock.hpp"

#include <caf/test/unit_test.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include <unistd.h>

using namespace partita;

namespace {

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-lock-test-" + std::to_string(::getpid()));
  fixture() { std::filesystem::remove_all(dir); }
  ~fixture() { std::filesystem::remove_all(dir); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(state_dir_lock_tests, fixture)

CAF_TEST(a second holder is refused with the directory and the pid of the holder) {
  std::optional<state_dir_lock> first;
  first.emplace(dir);
  std::string message;
  try {
    state_dir_lock second{dir};
  } catch (const state_dir_in_use& e) {
    message = e.what();
  }
  CAF_CHECK(message.find(dir.string()) != std::string::npos);
  CAF_CHECK(message.find("process " + std::to_string(::getpid())) != std::string::npos);
  first.reset();
  state_dir_lock again{dir}; // released: taken again without error
}

CAF_TEST_FIXTURE_SCOPE_END()
