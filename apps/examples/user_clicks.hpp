#pragma once

// The click counting of Goka's 2-clicks, shared by the examples built on it (2-clicks,
// 8-monitoring): each user's clicks in a JSON table {"clicks": n}.

#include "runtime/context.hpp"
#include "runtime/view.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace partita::examples {

/// What the table keeps per user.
struct user {
  int64_t clicks = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, clicks)
using user_codec = json_codec_of<user>;

/// The behavior: one click more for the record's key.
inline void count_click(context<user_codec>& ctx, const std::string&) {
  auto u = ctx.value().value_or(user{});
  ++u.clicks;
  ctx.set_value(u);
}

/// The clicks a view of the table holds, over every user.
inline int64_t clicks_seen(const view<user_codec>& users) {
  int64_t total = 0;
  users.for_each([&](std::string_view, const user& u) {
    total += u.clicks;
    return true;
  });
  return total;
}

} // namespace partita::examples
