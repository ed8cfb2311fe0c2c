// Test support: runs a real program (the mirror binary, promtool) as a child
// process with its output captured to files, and stops it by PID.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace mirror::testing {

class Process {
 public:
  // Starts `argv[0]` with the given arguments and extra environment variables
  // (added to the current environment, less any MIRROR_* variables, so that a
  // child's configuration comes from the test alone). stdout/stderr go to
  // temporary files.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
          std::string stdin_text = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Exit status (or 128 + signal); nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs a program to completion (bounded by `timeout`) and returns its status.
struct RunResult {
  int status = -1;
  std::string out;
  std::string err;
};
RunResult run(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
              std::string stdin_text = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A TCP port on 127.0.0.1 that was free a moment ago.
// Raises this process's soft descriptor limit to its hard one (children
// inherit it) and returns the new soft limit.
unsigned long raise_descriptor_limit();

int free_tcp_port();
// A port free for both TCP and UDP (QUIC shares the HTTPS port number).
int free_tcp_udp_port();

// Polls `done` every 20 ms until it holds or `timeout` passes; the event a
// test waits on, never a fixed sleep. Returns whether it held.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A program the tests drive: the path in `variable` when that is set, else
// the first `name` on PATH; empty when there is none.
std::string find_program(const std::string& name, const char* variable);
inline std::string node_binary() { return find_program("node", "NODE"); }
inline std::string chromium_binary() { return find_program("chromium", "CHROMIUM"); }

std::string make_temp_dir(const std::string& prefix);
void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

}  // namespace mirror::testing
