#define CAF_SUITE apps.service_options

#include "apps/service_options.hpp"

#include <caf/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace partita;

namespace {

/// One parse of a service's command line, with the environment and config file it is given.
struct parsed {
  std::optional<int> code;
  std::string out; // stdout
  std::string err; // stderr
  service_settings settings;
  std::string group;
};

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("partita-options-" + std::to_string(::getpid()));
  std::vector<std::string> env_set;

  fixture() { std::filesystem::create_directories(dir); }
  ~fixture() {
    for (const auto& name : env_set)
      ::unsetenv(name.c_str());
    std::filesystem::remove_all(dir);
  }

  void env(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    env_set.push_back(name);
  }

  std::string file(const std::string& text) {
    auto path = dir / "partita.toml";
    std::ofstream{path} << text;
    return path.string();
  }

  parsed parse(std::vector<std::string> args) {
    CLI::App app{"test service", "partita-test"};
    service_options options{app};
    parsed result;
    result.group = "clickcount";
    app.add_option("--group", result.group, "group")->capture_default_str();
    args.insert(args.begin(), "partita-test");
    std::vector<const char*> argv;
    for (const auto& a : args)
      argv.push_back(a.c_str());
    std::ostringstream out;
    std::ostringstream err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    result.code = options.parse(static_cast<int>(argv.size()), argv.data());
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    result.out = out.str();
    result.err = err.str();
    result.settings = options.settings();
    return result;
  }

  /// Expects a usage error (exit code 2) whose message contains every one of `words`.
  void expect_error(std::vector<std::string> args, std::vector<std::string> words) {
    auto r = parse(std::move(args));
    CAF_CHECK_EQUAL(r.code, std::optional<int>{2});
    for (const auto& w : words)
      if (r.err.find(w) == std::string::npos)
        CAF_FAIL("expected '" << w << "' in the error message: " << r.err);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(service_options_tests, fixture)

CAF_TEST(without settings the processor defaults hold) {
  auto r = parse({});
  CAF_REQUIRE(!r.code);
  processor_config defaults;
  const auto& p = r.settings.processor;
  CAF_CHECK_EQUAL(p.state_dir, defaults.state_dir);
  CAF_CHECK_EQUAL(p.poison_retries, defaults.poison_retries);
  CAF_CHECK_EQUAL(p.max_in_flight, defaults.max_in_flight);
  CAF_CHECK(p.on_poison == defaults.on_poison);
  CAF_CHECK(p.from == start_from::earliest);
  CAF_CHECK_EQUAL(p.restart.min_backoff.count(), defaults.restart.min_backoff.count());
  CAF_CHECK_EQUAL(r.settings.log_format, "text");
  CAF_CHECK(r.settings.http.empty());
}

CAF_TEST(flags beat the environment which beats the config file) {
  auto path = file("poison-retries = 5\n"
                   "state-dir = \"/from/file\"\n"
                   "group = \"file-group\"\n"
                   "drain-timeout = \"10s\"\n");
  auto r = parse({"--config", path});
  CAF_REQUIRE(!r.code);
  CAF_CHECK_EQUAL(r.settings.processor.poison_retries, 5);
  CAF_CHECK_EQUAL(r.settings.processor.state_dir, "/from/file");
  CAF_CHECK_EQUAL(r.group, "file-group"); // a service's own settings come from the file too
  CAF_CHECK_EQUAL(r.settings.processor.drain_timeout.count(), 10000);

  env("PARTITA_POISON_RETRIES", "6");
  env("PARTITA_GROUP", "env-group");
  r = parse({"--config", path});
  CAF_REQUIRE(!r.code);
  CAF_CHECK_EQUAL(r.settings.processor.poison_retries, 6);
  CAF_CHECK_EQUAL(r.group, "env-group");
  CAF_CHECK_EQUAL(r.settings.processor.state_dir, "/from/file");

  r = parse({"--config", path, "--poison-retries", "7", "--group", "flag-group"});
  CAF_REQUIRE(!r.code);
  CAF_CHECK_EQUAL(r.settings.processor.poison_retries, 7);
  CAF_CHECK_EQUAL(r.group, "flag-group");
}

CAF_TEST(librdkafka properties merge per property across file environment and flags) {
  auto path = file("[kafka]\n"
                   "\"client.id\" = \"from-file\"\n"
                   "\"linger.ms\" = 7\n"
                   "\"socket.timeout.ms\" = 20000\n"
                   "[consumer]\n"
                   "\"session.timeout.ms\" = 9000\n");
  env("PARTITA_KAFKA_LINGER_MS", "8");
  env("PARTITA_CONSUMER_HEARTBEAT_INTERVAL_MS", "1000");
  auto r = parse({"--config", path, "--kafka", "socket.timeout.ms=30000"});
  CAF_REQUIRE(!r.code);
  const auto& kafka = r.settings.processor.kafka;
  CAF_CHECK_EQUAL(kafka.at("client.id"), "from-file");
  CAF_CHECK_EQUAL(kafka.at("linger.ms"), "8");
  CAF_CHECK_EQUAL(kafka.at("socket.timeout.ms"), "30000");
  const auto& consumer = r.settings.processor.consumer;
  CAF_CHECK_EQUAL(consumer.at("session.timeout.ms"), "9000");
  CAF_CHECK_EQUAL(consumer.at("heartbeat.interval.ms"), "1000");
}

CAF_TEST(print config shows the effective settings with secrets masked) {
  auto path = file("poison-retries = 4\n"
                   "[kafka]\n"
                   "\"sasl.password\" = \"hunter2\"\n"
                   "\"security.protocol\" = \"plaintext\"\n");
  auto r = parse({"--config", path, "--print-config", "--from", "latest"});
  CAF_CHECK_EQUAL(r.code, std::optional<int>{0});
  CAF_CHECK(r.out.find("poison-retries = 4") != std::string::npos);
  CAF_CHECK(r.out.find("from = 'latest'") != std::string::npos);
  CAF_CHECK(r.out.find("'security.protocol' = 'plaintext'") != std::string::npos);
  CAF_CHECK(r.out.find("hunter2") == std::string::npos);
  CAF_CHECK(r.out.find("'sasl.password' = '****'") != std::string::npos);
  // What it prints is a config file giving the same settings.
  auto again = parse({"--config", file(r.out)});
  CAF_REQUIRE(!again.code);
  CAF_CHECK_EQUAL(again.settings.processor.poison_retries, 4);
  CAF_CHECK(again.settings.processor.from == start_from::latest);
}

CAF_TEST(every bad value is a usage error naming the setting and what is allowed) {
  expect_error({"--poison-retries", "x"}, {"--poison-retries", "whole number of at least 0"});
  expect_error({"--max-in-flight", "0"}, {"--max-in-flight", "at least 1"});
  expect_error({"--from", "middle"}, {"--from", "earliest", "latest"});
  expect_error({"--on-poison", "ignore"}, {"--on-poison", "dead-letter"});
  expect_error({"--log-format", "xml"}, {"--log-format", "json"});
  expect_error({"--log-level", "loud"}, {"--log-level", "debug"});
  expect_error({"--drain-timeout", "5"}, {"--drain-timeout", "ms, s or m"});
  expect_error({"--restart-min-backoff", "2s", "--restart-max-backoff", "1s"},
               {"restart-max-backoff", "restart-min-backoff"});
  expect_error({"--kafka", "linger.ms"}, {"linger.ms", "NAME=VALUE"});
  expect_error({"--kafka", "no.such.property=1"}, {"no.such.property"});
  expect_error({"--no-such-flag"}, {"--no-such-flag"});
  env("PARTITA_POISON_RETRIES", "-1");
  expect_error({}, {"--poison-retries", "-1"});
}

CAF_TEST(a bad config file is a usage error naming the problem in the file) {
  expect_error({"--config", (dir / "absent.toml").string()}, {"absent.toml", "--config"});
  expect_error({"--config", file("state-dir = \n")}, {"not valid TOML", "line 1"});
  expect_error({"--config", file("colour = \"red\"\n")},
               {"unknown setting 'colour'", "state-dir"});
  expect_error({"--config", file("config = \"other.toml\"\n")}, {"unknown setting 'config'"});
  expect_error({"--config", file("kafka = \"x\"\n")}, {"[kafka]"});
  expect_error({"--config", file("poison-retries = \"many\"\n")}, {"--poison-retries", "many"});
}

CAF_TEST(the drain fits in the shutdown unless the shutdown has no limit) {
  auto r = parse({"--shutdown-timeout", "9s", "--drain-timeout", "30s"});
  CAF_REQUIRE(!r.code);
  CAF_CHECK_EQUAL(r.settings.processor.drain_timeout.count(), 6000);
  r = parse({"--shutdown-timeout", "0s", "--drain-timeout", "30s"});
  CAF_REQUIRE(!r.code);
  CAF_CHECK_EQUAL(r.settings.processor.drain_timeout.count(), 30000);
}

CAF_TEST(durations take ms s and m) {
  CAF_CHECK_EQUAL(parse_duration("d", "250ms").count(), 250);
  CAF_CHECK_EQUAL(parse_duration("d", "30s").count(), 30000);
  CAF_CHECK_EQUAL(parse_duration("d", "2m").count(), 120000);
  CAF_CHECK_EQUAL(parse_duration("d", "0s").count(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
