#pragma once

// The join and lookup tests' two groups (test/actors/tables.cpp, support/table_member.cpp):
// "users" writes each user's name to users-table; "orders" counts each user's orders, joined
// with users-table (co-partitioned with `orders`) and looking up each item's price in `prices`.

#include "runtime/group_graph.hpp"

#include <nlohmann/json.hpp>

namespace partita::test {

/// users: the last name of each user of `user-events`.
inline graph_definition users_graph() {
  group_graph<string_codec> g{"users"};
  g.input("user-events", string_codec{},
          [](auto& ctx, const std::string& name) { ctx.set_value(name); });
  return g.definition();
}

/// orders (or `group`): per user, the name joined from users-table, the sum of the looked-up prices of the
/// items ordered (-1000000 for an item without a price), and the number of orders.
inline graph_definition orders_graph(const std::string& group = "orders") {
  using nlohmann::json;
  group_graph<json_codec> g{group};
  g.join("users-table", string_codec{})
    .lookup("prices", int64_codec{})
    .input("orders", string_codec{}, [](auto& ctx, const std::string& item) {
      auto v = ctx.value().value_or(json{{"name", ""}, {"total", 0}, {"count", 0}});
      v["name"] = ctx.template join<std::string>("users-table").value_or("?");
      v["total"] = v["total"].template get<int64_t>() +
                   ctx.template lookup<int64_t>("prices", item).value_or(-1000000);
      v["count"] = v["count"].template get<int64_t>() + 1;
      ctx.set_value(v);
    });
  return g.definition();
}

} // namespace partita::test
