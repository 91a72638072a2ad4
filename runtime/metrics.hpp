#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partita {

/// The figures of one process, Prometheus style: counters, gauges and summaries by name and
/// labels. A component asks for its figures once (that takes a lock) and updates them without
/// one; prometheus() writes them in Prometheus' text format, samples() hands them to the status
/// page. A figure lives as long as the registry, so references to it stay valid.
class metrics {
public:
  using labels = std::vector<std::pair<std::string, std::string>>;
  using figure = std::atomic<int64_t>;

  /// A value that only grows. Rendered as value * scale (e.g. 1e-6 for microseconds counted,
  /// seconds shown).
  figure& counter(std::string_view name, std::string_view help, const labels& l = {},
                  double scale = 1);
  /// A value that goes up and down.
  figure& gauge(std::string_view name, std::string_view help, const labels& l = {},
                double scale = 1);
  /// Observations: their sum (rendered * scale) and their count.
  struct summary_figures {
    figure& sum;
    figure& count;
  };
  summary_figures summary(std::string_view name, std::string_view help, const labels& l = {},
                          double scale = 1);

  /// Hides every figure carrying all of `all` (e.g. a partition handed to another process),
  /// except those with a label named `unless`, until a component asks for it again.
  void retire(const labels& all, std::string_view unless = {});

  /// Prometheus text exposition format 0.0.4.
  std::string prometheus() const;

  /// A registry and the labels put before each of its figures' own.
  struct source {
    const metrics* registry;
    labels extra;
  };
  /// Several registries in one exposition (the processors and views of one HTTP endpoint):
  /// each family once, with the figures of every source that has it, in the sources' order;
  /// a series (name and labels) two sources have is shown once, with the first one's value.
  static std::string prometheus(const std::vector<source>& sources);

  struct sample {
    std::string name;
    metrics::labels tags;
    double value;
  };
  /// Every visible figure (a summary as <name>_sum and <name>_count), by name then labels.
  std::vector<sample> samples() const;

private:
  enum class kind { counter, gauge, summary };
  struct entry {
    figure value{0};
    figure count{0};
    bool visible = true;
  };
  struct family {
    std::string help;
    kind type;
    double scale;
    std::map<labels, std::unique_ptr<entry>> entries;
  };
  entry& find(std::string_view name, std::string_view help, kind type, const labels& l,
              double scale);

  mutable std::mutex mtx_;
  std::map<std::string, family, std::less<>> families_;
};

} // namespace partita
