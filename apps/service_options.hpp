#pragma once

// The settings every Partita service shares, and where they come from. Highest first:
//   1. command-line flags            --state-dir /var/lib/partita
//   2. environment variables         PARTITA_STATE_DIR=/var/lib/partita
//                                    PARTITA_KAFKA_SECURITY_PROTOCOL=SASL_SSL (librdkafka property
//                                    security.protocol; PARTITA_CONSUMER_... for the consumer)
//   3. the TOML file of --config     state-dir = "/var/lib/partita"   [kafka] "security.protocol" = ...
//   4. the defaults
// A setting's name is its flag without the dashes, in the file and (upper case, '_' for '-',
// PARTITA_ in front) in the environment. librdkafka properties merge per property across the
// three sources.

#include "runtime/processor_config.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace partita {

/// What a service runs with, once its options are parsed.
struct service_settings {
  processor_config processor;
  /// `host:port` of the HTTP endpoint; empty: none.
  std::string http;
  std::string log_level = "info";
  std::string log_format = "text";
  /// How long a SIGTERM/SIGINT shutdown may take before the process exits regardless.
  std::chrono::milliseconds shutdown_timeout{30000};
};

/// The shared options of a service binary, added to its CLI11 app next to its own.
///
///   CLI::App app{"..."};
///   partita::service_options options{app};
///   app.add_option("--group", group, "...");       // the service's own settings
///   if (auto code = options.parse(argc, argv))     // handles --help, --print-config, errors
///     return *code;
///   auto settings = options.settings();
class service_options {
public:
  explicit service_options(CLI::App& app);
  service_options(const service_options&) = delete;
  service_options& operator=(const service_options&) = delete;

  /// Parses the command line, the environment and the config file. Returns the exit code when
  /// the process should end now: 0 after --help or --print-config, 2 for a bad setting (the
  /// message, naming the setting and what is allowed, is printed on stderr).
  std::optional<int> parse(int argc, const char* const* argv);

  /// The effective settings (after parse()), logging configured to match.
  const service_settings& settings() const { return settings_; }

  /// The effective configuration as a TOML config file, secrets masked.
  std::string effective_config() const;

private:
  void apply();

  CLI::App& app_;
  service_settings settings_;
  std::string config_file_;
  bool print_config_ = false;
  std::string from_ = "earliest";
  std::string on_poison_ = "dead-letter";
  std::string drain_timeout_ = "30s";
  std::string startup_timeout_ = "30s";
  std::string shutdown_timeout_ = "30s";
  std::string min_backoff_ = "200ms";
  std::string max_backoff_ = "30s";
  std::vector<std::string> kafka_flags_;
  std::vector<std::string> consumer_flags_;
  // librdkafka properties by source, merged by apply(): file, then environment, then flags.
  kafka_properties kafka_file_, consumer_file_;
};

/// Parses a duration written as a number and a unit: `250ms`, `30s`, `5m`. Throws config_error.
std::chrono::milliseconds parse_duration(const std::string& setting, const std::string& text);

/// A CLI11 check for a whole number of at least `min`, naming what is allowed.
CLI::Validator at_least(int64_t min);

/// True for a librdkafka property that holds a secret (passwords, keys, tokens): shown masked.
bool is_secret_property(const std::string& name);

} // namespace partita
