#include "actors/group_tables.hpp"

#include <algorithm>

namespace partita {

group_tables::group_tables(caf::actor_system& sys, const graph_definition& graph,
                           follower_config base, const std::map<std::string, int>& partitions,
                           bool recover_ahead)
  : ahead_(recover_ahead) {
  for (const auto& t : graph.tables) {
    auto cfg = base;
    cfg.topic = t.topic;
    int count = partitions.at(t.topic);
    auto& entry = followers_[t.topic];
    entry.kind = t.kind;
    entry.partitions = count;
    entry.follower = std::make_unique<table_follower>(sys, std::move(cfg));
    if (t.kind == table_definition::kind_t::lookup || ahead_) {
      std::vector<int32_t> all;
      for (int32_t p = 0; p < count; ++p)
        all.push_back(p);
      entry.follower->follow(all);
    }
  }
}

void group_tables::assigned(const std::vector<int32_t>& partitions) {
  if (ahead_)
    return; // every partition is followed already
  for (auto& [topic, t] : followers_)
    if (t.kind == table_definition::kind_t::join)
      t.follower->follow(partitions);
}

void group_tables::revoked(const std::vector<int32_t>& partitions) {
  if (ahead_)
    return;
  for (auto& [topic, t] : followers_)
    if (t.kind == table_definition::kind_t::join)
      t.follower->release(partitions);
}

bool group_tables::recovered(const table& t, int32_t p) const {
  if (t.kind == table_definition::kind_t::lookup || ahead_)
    return t.follower->recovered(); // every partition is followed
  auto h = t.follower->partition(p);
  return h && h->recovered;
}

bool group_tables::ready(int32_t p) const {
  return std::all_of(followers_.begin(), followers_.end(),
                     [&](const auto& kv) { return recovered(kv.second, p); });
}

std::string group_tables::waiting_for(int32_t p) const {
  std::string out;
  for (const auto& [topic, t] : followers_)
    if (!recovered(t, p))
      out += (out.empty() ? "" : ", ") + topic;
  return out;
}

std::optional<std::string> group_tables::read(const table_definition& def, std::string_view key,
                                              int32_t p) const {
  auto i = followers_.find(def.topic);
  if (i == followers_.end())
    return std::nullopt;
  const auto& t = i->second;
  int32_t at = p;
  if (t.kind == table_definition::kind_t::lookup)
    at = key_partition(key, t.partitions);
  auto h = t.follower->partition(at);
  auto store = h ? h->store() : nullptr;
  if (!store)
    throw store_error(std::string{def.kind_name()} + " table " + def.topic + "/" +
                      std::to_string(at) + " is not open on this member");
  return store->get(key);
}

std::vector<caf::actor> group_tables::supervisors() const {
  std::vector<caf::actor> out;
  for (const auto& [topic, t] : followers_)
    out.push_back(t.follower->supervisor());
  return out;
}

} // namespace partita
