#include "apps/service_options.hpp"

#include "runtime/logger.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <sstream>

extern char** environ;

namespace partita {

namespace {

/// Settings that only steer the parsing itself: never read from a file or the environment.
bool is_meta_option(const std::string& name) {
  return name == "help" || name == "config" || name == "print-config" || name == "kafka" ||
         name == "consumer";
}

std::string env_name(const std::string& setting) {
  std::string out = "PARTITA_";
  for (char c : setting)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// librdkafka properties from `PARTITA_<prefix>_<NAME>` variables: `security.protocol` is
/// PARTITA_KAFKA_SECURITY_PROTOCOL (property names hold only lower-case letters and dots).
kafka_properties properties_from_env(const std::string& prefix) {
  kafka_properties out;
  auto full = "PARTITA_" + prefix + "_";
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry{*e};
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with(full) || eq == full.size())
      continue;
    std::string name;
    for (char c : entry.substr(full.size(), eq - full.size()))
      name += c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name] = std::string{entry.substr(eq + 1)};
  }
  return out;
}

std::string toml_scalar(const std::string& where, const toml::node& node) {
  if (auto s = node.as_string())
    return s->get();
  if (auto i = node.as_integer())
    return std::to_string(i->get());
  if (auto b = node.as_boolean())
    return b->get() ? "true" : "false";
  if (auto f = node.as_floating_point()) {
    std::ostringstream out;
    out << f->get();
    return out.str();
  }
  throw CLI::ConfigError("config file: '" + where +
                         "' must be a string, a number or true/false");
}

/// Reads the TOML file of --config with toml++. Top-level keys are settings (the long flags
/// without dashes); the [kafka] and [consumer] tables hold librdkafka properties, kept aside
/// to be merged per property.
class toml_config : public CLI::Config {
public:
  toml_config(const CLI::App& app, kafka_properties& kafka, kafka_properties& consumer)
    : app_(app), kafka_(kafka), consumer_(consumer) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override {
    return {}; // service_options::effective_config() writes the effective configuration
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    toml::table file;
    try {
      file = toml::parse(input, std::string_view{"config file"});
    } catch (const toml::parse_error& e) {
      const auto& at = e.source().begin;
      throw CLI::ConfigError("config file is not valid TOML (line " + std::to_string(at.line) +
                             ", column " + std::to_string(at.column) +
                             "): " + std::string{e.description()});
    }
    std::vector<CLI::ConfigItem> items;
    for (const auto& [key, node] : file) {
      std::string name{key.str()};
      if (name == "kafka" || name == "consumer") {
        auto table = node.as_table();
        if (!table)
          throw CLI::ConfigError("config file: '" + name +
                                 "' must be a table of librdkafka properties, e.g. [" + name +
                                 "] \"security.protocol\" = \"ssl\"");
        for (const auto& [prop, value] : *table)
          (name == "kafka" ? kafka_ : consumer_)[std::string{prop.str()}] =
            toml_scalar(name + "." + std::string{prop.str()}, value);
        continue;
      }
      const CLI::Option* opt = app_.get_option_no_throw("--" + name);
      if (opt == nullptr || is_meta_option(name))
        throw CLI::ConfigError("config file: unknown setting '" + name + "'; the settings are " +
                               setting_names() + ", and the tables [kafka] and [consumer]");
      if (std::getenv(env_name(name).c_str()) != nullptr)
        continue; // the environment overrides the file
      CLI::ConfigItem item;
      item.name = name;
      if (auto array = node.as_array()) {
        for (const auto& element : *array)
          item.inputs.push_back(toml_scalar(name, element));
      } else if (node.is_table()) {
        throw CLI::ConfigError("config file: '" + name + "' is a setting, not a table");
      } else {
        item.inputs.push_back(toml_scalar(name, node));
      }
      items.push_back(std::move(item));
    }
    return items;
  }

private:
  std::string setting_names() const {
    std::string out;
    for (const auto* opt : app_.get_options()) {
      auto names = opt->get_lnames();
      if (names.empty() || is_meta_option(names.front()))
        continue;
      out += (out.empty() ? "" : ", ") + names.front();
    }
    return out;
  }

  const CLI::App& app_;
  kafka_properties& kafka_;
  kafka_properties& consumer_;
};

CLI::Validator duration_check() {
  return CLI::Validator(
    [](std::string& text) -> std::string {
      try {
        parse_duration("", text);
        return {};
      } catch (const config_error&) {
        return "'" + text + "' is not a duration: write a number and ms, s or m, e.g. 30s";
      }
    },
    "DURATION");
}

/// A value as TOML would write it: numbers and true/false unquoted.
void put_toml(toml::table& out, const std::string& name, const std::vector<std::string>& values,
              bool many) {
  auto typed = [](const std::string& v, auto&& put) {
    int64_t i = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
    if (!v.empty() && ec == std::errc{} && end == v.data() + v.size())
      put(i);
    else if (v == "true" || v == "false")
      put(v == "true");
    else
      put(v);
  };
  if (many) {
    toml::array array;
    for (const auto& v : values)
      typed(v, [&](auto x) { array.push_back(x); });
    out.insert_or_assign(name, std::move(array));
  } else if (!values.empty()) {
    typed(values.back(), [&](auto x) { out.insert_or_assign(name, x); });
  }
}

} // namespace

std::chrono::milliseconds parse_duration(const std::string& setting, const std::string& text) {
  int64_t n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit{end, static_cast<size_t>(text.data() + text.size() - end)};
  if (ec != std::errc{} || n < 0 || (unit != "ms" && unit != "s" && unit != "m"))
    throw config_error(setting + ": '" + text +
                       "' is not a duration: write a number and ms, s or m, e.g. 30s");
  if (unit == "ms")
    return std::chrono::milliseconds{n};
  if (unit == "s")
    return std::chrono::seconds{n};
  return std::chrono::minutes{n};
}

CLI::Validator at_least(int64_t min) {
  return CLI::Validator(
    [min](std::string& text) -> std::string {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < min)
        return "'" + text + "' is not a whole number of at least " + std::to_string(min);
      return {};
    },
    ">=" + std::to_string(min));
}

bool is_secret_property(const std::string& name) {
  for (const char* marker : {"password", "secret", "sasl.jaas.config", "oauthbearer.config",
                             "ssl.key.pem", "token"})
    if (name.find(marker) != std::string::npos)
      return true;
  return false;
}

service_options::service_options(CLI::App& app) : app_(app) {
  auto& p = settings_.processor;
  static const std::string path_help = "TOML config file of these settings (their names are "
                                       "the flags without '--'; librdkafka properties in "
                                       "[kafka] and [consumer] tables)";
  app.set_config("--config", "", path_help)->type_name("FILE");
  app.config_formatter(std::make_shared<toml_config>(app, kafka_file_, consumer_file_));
  app.add_flag("--print-config", print_config_,
               "print the effective configuration (secrets masked) as a config file and exit");
  app.add_option("--brokers", p.brokers,
                 "Kafka bootstrap servers host:port,... (the demo services start the embedded "
                 "cluster without it)");
  app.add_option("--state-dir", p.state_dir, "directory of the LMDB state")
    ->capture_default_str();
  app.add_option("--from", from_, "where a group without committed offsets starts: earliest "
                                  "or latest")
    ->check(CLI::IsMember({"earliest", "latest"}))
    ->capture_default_str();
  app.add_option("--kafka", kafka_flags_,
                 "librdkafka property for every client, NAME=VALUE (repeatable), e.g. "
                 "security.protocol=ssl");
  app.add_option("--consumer", consumer_flags_,
                 "librdkafka property for the consumer only, NAME=VALUE (repeatable), e.g. "
                 "session.timeout.ms=10000");
  app.add_option("--http", settings_.http,
                 "serve /, /healthz, /readyz, /metrics and /tables/<table>/<key> on HOST:PORT "
                 "(e.g. 127.0.0.1:8080; off by default)");
  app.add_option("--on-poison", on_poison_,
                 "a record that cannot be processed: retry (restart the partition with "
                 "backoff), dead-letter (after --poison-retries, to <group>-dlq) or "
                 "stop-partition")
    ->check(CLI::IsMember({"retry", "dead-letter", "stop-partition"}))
    ->capture_default_str();
  app.add_option("--poison-retries", p.poison_retries,
                 "attempts before a record is dead-lettered")
    ->check(at_least(0))
    ->capture_default_str();
  app.add_option("--max-in-flight", p.max_in_flight,
                 "records queued for one partition before its fetching pauses")
    ->check(at_least(1))
    ->capture_default_str();
  app.add_option("--fsync", p.fsync, "fsync every LMDB commit: true or false")
    ->default_str("false");
  // Durations: a number and ms, s or m.
  auto duration = [&app](const char* flag, std::string& text, const std::string& help) {
    app.add_option(flag, text, help)->check(duration_check())->capture_default_str();
  };
  duration("--startup-timeout", startup_timeout_, "how long to wait for the brokers at start");
  duration("--drain-timeout", drain_timeout_,
           "how long a revoked partition may take to finish its in-flight records");
  duration("--shutdown-timeout", shutdown_timeout_,
           "how long a SIGTERM/SIGINT shutdown (drain, commit, leave the group) may take before "
           "the process exits regardless (code 1); 0s: no limit");
  duration("--restart-min-backoff", min_backoff_,
           "delay before a failed partition's first restart");
  duration("--restart-max-backoff", max_backoff_, "longest delay between restarts");
  app.add_option("--log-level", settings_.log_level, "trace, debug, info, warn, error or off")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  app.add_option("--log-format", settings_.log_format,
                 "text, or json (one object per line: time, level, logger, message, and topic "
                 "and partition where they apply)")
    ->check(CLI::IsMember({"text", "json"}))
    ->capture_default_str();
}

std::optional<int> service_options::parse(int argc, const char* const* argv) {
  for (auto* opt : app_.get_options()) {
    auto names = opt->get_lnames();
    if (!names.empty() && !is_meta_option(names.front()))
      opt->envname(env_name(names.front()));
  }
  try {
    app_.parse(argc, argv);
    apply();
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e);
  } catch (const CLI::FileError& e) {
    std::cerr << "--config: " << e.what() << " (give the path of a TOML config file)\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    app_.exit(e);
    return 2;
  } catch (const config_error& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  if (print_config_) {
    std::cout << effective_config();
    return 0;
  }
  return std::nullopt;
}

void service_options::apply() {
  auto& p = settings_.processor;
  p.from = from_ == "latest" ? start_from::latest : start_from::earliest;
  p.on_poison = on_poison_ == "retry"            ? poison_policy::retry
                : on_poison_ == "stop-partition" ? poison_policy::stop_partition
                                                 : poison_policy::dead_letter;
  p.startup_timeout = parse_duration("startup-timeout", startup_timeout_);
  settings_.shutdown_timeout = parse_duration("shutdown-timeout", shutdown_timeout_);
  // Records in flight get the drain timeout, bounded by the shutdown's own (0: no bound).
  p.drain_timeout = parse_duration("drain-timeout", drain_timeout_);
  if (settings_.shutdown_timeout.count() > 0)
    p.drain_timeout = std::min(p.drain_timeout, settings_.shutdown_timeout * 2 / 3);
  p.restart.min_backoff = parse_duration("restart-min-backoff", min_backoff_);
  p.restart.max_backoff = parse_duration("restart-max-backoff", max_backoff_);
  if (p.restart.max_backoff < p.restart.min_backoff)
    throw config_error("restart-max-backoff (" + max_backoff_ +
                       ") must not be less than restart-min-backoff (" + min_backoff_ + ")");
  // librdkafka properties: file, then environment, then flags, per property.
  p.kafka = kafka_file_;
  p.consumer = consumer_file_;
  p.kafka = overridden(p.kafka, properties_from_env("KAFKA"));
  p.consumer = overridden(p.consumer, properties_from_env("CONSUMER"));
  parse_kafka_properties(kafka_flags_, p.kafka);
  parse_kafka_properties(consumer_flags_, p.consumer);
  // librdkafka names any property it does not know, or a value it refuses, now.
  rd_kafka_conf_destroy(make_kafka_conf(p.kafka, p.consumer));
  configure_logging(settings_.log_level, settings_.log_format);
}

std::string service_options::effective_config() const {
  toml::table out;
  for (const auto* opt : app_.get_options()) {
    auto names = opt->get_lnames();
    if (names.empty() || is_meta_option(names.front()))
      continue;
    std::vector<std::string> values = opt->results();
    if (opt->count() == 0 && !opt->get_default_str().empty())
      values = {opt->get_default_str()};
    if (!values.empty())
      put_toml(out, names.front(), values, opt->get_expected_max() > 1);
  }
  auto masked = [](const kafka_properties& props) {
    toml::table table;
    for (const auto& [name, value] : props)
      table.insert_or_assign(name, is_secret_property(name) ? std::string{"****"} : value);
    return table;
  };
  out.insert_or_assign("kafka", masked(settings_.processor.kafka));
  out.insert_or_assign("consumer", masked(settings_.processor.consumer));
  std::ostringstream text;
  text << "# The effective configuration of " << app_.get_name()
       << " (flags > PARTITA_* environment > config file > defaults); secrets masked.\n"
       << out << '\n';
  return text.str();
}

} // namespace partita
