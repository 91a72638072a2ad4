#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace partita::test {

/// A TCP port on 127.0.0.1 nobody listens on right now (for a child's HTTP endpoint).
int free_port();

/// A program run as a child process for a test; stdout and stderr go to files. The destructor
/// kills it (SIGKILL) if it still runs.
class child_process {
public:
  /// `env`: NAME=VALUE entries added to this process's environment for the child.
  /// `piped_stdin`: the child's stdin is a pipe that write() feeds (else it is this process's).
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::string& output_prefix, const std::vector<std::string>& env = {},
                bool piped_stdin = false);
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  /// Sends a signal.
  void signal(int sig);
  /// True while the process has not exited.
  bool running();
  /// Waits for the exit up to `timeout_ms`; returns the exit code, 128+signal, or -1 on timeout.
  int wait(int timeout_ms);
  /// Writes `text` to the child's piped stdin; false if it cannot (no pipe, or the child
  /// closed it).
  bool write(const std::string& text);
  /// Everything the child wrote to stdout / stderr so far.
  std::string out() const;
  std::string err() const;

private:
  pid_t pid_ = -1;
  int status_ = -1;
  int stdin_ = -1; // the pipe's end we write to
  std::string out_path_;
  std::string err_path_;
};

} // namespace partita::test
