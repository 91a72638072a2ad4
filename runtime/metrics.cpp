#include "runtime/metrics.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace partita {

namespace {

std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string render_labels(const metrics::labels& l) {
  if (l.empty())
    return {};
  std::string out = "{";
  for (const auto& [name, value] : l)
    out += (out.size() > 1 ? "," : "") + name + "=\"" + escape(value) + "\"";
  return out + "}";
}

std::string number(double v) {
  return fmt::format("{}", v);
}

} // namespace

metrics::entry& metrics::find(std::string_view name, std::string_view help, kind type,
                              const labels& l, double scale) {
  std::lock_guard guard{mtx_};
  auto i = families_.find(name);
  if (i == families_.end())
    i = families_.emplace(std::string{name}, family{std::string{help}, type, scale, {}}).first;
  auto& slot = i->second.entries[l];
  if (!slot)
    slot = std::make_unique<entry>();
  slot->visible = true;
  return *slot;
}

metrics::figure& metrics::counter(std::string_view name, std::string_view help, const labels& l,
                                  double scale) {
  return find(name, help, kind::counter, l, scale).value;
}

metrics::figure& metrics::gauge(std::string_view name, std::string_view help, const labels& l,
                                double scale) {
  return find(name, help, kind::gauge, l, scale).value;
}

metrics::summary_figures metrics::summary(std::string_view name, std::string_view help,
                                          const labels& l, double scale) {
  auto& e = find(name, help, kind::summary, l, scale);
  return {e.value, e.count};
}

void metrics::retire(const labels& all, std::string_view unless) {
  std::lock_guard guard{mtx_};
  auto has = [](const labels& l, const auto& pair) {
    return std::find(l.begin(), l.end(), pair) != l.end();
  };
  for (auto& [name, fam] : families_)
    for (auto& [l, e] : fam.entries) {
      bool excluded = !unless.empty() && std::any_of(l.begin(), l.end(), [&](const auto& p) {
        return p.first == unless;
      });
      if (!excluded && std::all_of(all.begin(), all.end(), [&](const auto& p) { return has(l, p); }))
        e->visible = false;
    }
}

std::vector<metrics::sample> metrics::samples() const {
  std::vector<sample> out;
  std::lock_guard guard{mtx_};
  for (const auto& [name, fam] : families_)
    for (const auto& [l, e] : fam.entries) {
      if (!e->visible)
        continue;
      auto value = static_cast<double>(e->value.load()) * fam.scale;
      if (fam.type == kind::summary) {
        out.push_back({name + "_sum", l, value});
        out.push_back({name + "_count", l, static_cast<double>(e->count.load())});
      } else {
        out.push_back({name, l, value});
      }
    }
  return out;
}

std::string metrics::prometheus() const {
  return prometheus({{this, {}}});
}

std::string metrics::prometheus(const std::vector<source>& sources) {
  struct merged {
    std::string help;
    kind type = kind::gauge;
    std::string lines;
    std::set<std::string> series; // label sets rendered: the first source's value wins
  };
  std::map<std::string, merged> families;
  for (const auto& [registry, extra] : sources) {
    std::lock_guard guard{registry->mtx_};
    for (const auto& [name, fam] : registry->families_)
      for (const auto& [own, e] : fam.entries) {
        if (!e->visible)
          continue;
        auto& out = families[name];
        if (out.lines.empty()) { // the first source with this family names it
          out.help = fam.help;
          out.type = fam.type;
        }
        auto l = extra;
        l.insert(l.end(), own.begin(), own.end());
        auto rendered = render_labels(l);
        if (!out.series.insert(rendered).second)
          continue; // e.g. a view's broker monitor beside a processor's: the same brokers
        auto value = static_cast<double>(e->value.load()) * fam.scale;
        if (fam.type == kind::summary) {
          out.lines += name + "_sum" + rendered + " " + number(value) + "\n";
          out.lines += name + "_count" + rendered + " " + std::to_string(e->count.load()) + "\n";
        } else {
          out.lines += name + rendered + " " + number(value) + "\n";
        }
      }
  }
  std::string out;
  for (const auto& [name, fam] : families) {
    const char* type = fam.type == kind::counter ? "counter"
                       : fam.type == kind::gauge ? "gauge"
                                                 : "summary";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam.help, name, type);
    out += fam.lines;
  }
  return out;
}

} // namespace partita
