#pragma once

// What the tests of error messages share.

#include <exception>
#include <string>
#include <string_view>

namespace partita::test {

/// The message of what `f` throws; empty when it throws nothing.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace partita::test
