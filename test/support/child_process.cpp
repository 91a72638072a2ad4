#include "test/support/child_process.hpp"

#include "test/support/kafka_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace partita::test {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::string& output_prefix, const std::vector<std::string>& env,
                             bool piped_stdin)
    : out_path_(output_prefix + ".out"), err_path_(output_prefix + ".err") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (piped_stdin) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      posix_spawn_file_actions_destroy(&actions);
      throw std::runtime_error(std::string{"cannot make a pipe: "} + std::strerror(errno));
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);
    stdin_ = pipe_fds[1];
  }
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  // Nothing else of this process goes with the child: librdkafka's mock accepts its connections
  // without close-on-exec, and a child holding them would keep a "down" broker's connections
  // open (and their port bound) for as long as it runs.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  for (const auto& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (pipe_fds[0] >= 0)
    ::close(pipe_fds[0]);
  if (rc != 0) {
    if (stdin_ >= 0)
      ::close(stdin_);
    throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  }
}

child_process::~child_process() {
  if (stdin_ >= 0)
    ::close(stdin_);
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

bool child_process::write(const std::string& text) {
  if (stdin_ < 0)
    return false;
  // A child gone (or its stdin closed) answers EPIPE, not this process's death by SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  for (std::size_t done = 0; done < text.size();) {
    auto n = ::write(stdin_, text.data() + done, text.size() - done);
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void child_process::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

bool child_process::running() {
  if (status_ != -1)
    return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

int child_process::wait(int timeout_ms) {
  if (!wait_until([this] { return !running(); }, std::chrono::milliseconds{timeout_ms},
                  std::chrono::milliseconds{10}))
    return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

std::string child_process::out() const {
  return slurp(out_path_);
}

std::string child_process::err() const {
  return slurp(err_path_);
}

} // namespace partita::test
