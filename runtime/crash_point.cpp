#include "runtime/crash_point.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

namespace partita {

namespace {

struct armed_point {
  std::string name;
  long at = 1;
  std::atomic<long> hits{0};
};

armed_point* armed() {
  static armed_point* point = [] () -> armed_point* {
    const char* spec = std::getenv("PARTITA_CRASH_AT");
    if (spec == nullptr || *spec == '\0')
      return nullptr;
    auto* p = new armed_point; // lives as long as the process
    std::string_view text{spec};
    auto colon = text.find(':');
    p->name = std::string{text.substr(0, colon)};
    if (colon != std::string_view::npos)
      p->at = std::strtol(spec + colon + 1, nullptr, 10);
    return p;
  }();
  return point;
}

} // namespace

void crash_point(const char* name) {
  auto* p = armed();
  if (p == nullptr || p->name != name)
    return;
  if (++p->hits == p->at) {
    std::fprintf(stderr, "PARTITA_CRASH_AT: crashing at %s (hit %ld)\n", name, p->at);
    ::_exit(86);
  }
}

} // namespace partita
