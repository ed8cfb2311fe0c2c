#include "support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <bitset>
#include <mutex>
#include <utility>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mirror::testing {

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/" +
                     prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 std::string stdin_text) {
  const std::string dir = make_temp_dir("mirror-proc");
  out_path_ = dir + "/stdout";
  err_path_ = dir + "/stderr";
  const std::string in_path = dir + "/stdin";
  write_file(in_path, stdin_text);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos && env.count(kv.substr(0, eq)) > 0) continue;
    // The child's configuration comes from the test alone, never from the
    // runner's environment.
    if (kv.rfind("MIRROR_", 0) == 0) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    // The child must not inherit a blocked signal mask from the test runner.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
}

Process::~Process() {
  if (running()) {
    signal(SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

void Process::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

std::string Process::stdout_text() const { return read_file(out_path_); }
std::string Process::stderr_text() const { return read_file(err_path_); }

RunResult run(std::vector<std::string> argv, std::map<std::string, std::string> env,
              std::string stdin_text, std::chrono::milliseconds timeout) {
  Process p(std::move(argv), std::move(env), std::move(stdin_text));
  RunResult r;
  auto st = p.wait(timeout);
  r.status = st.value_or(-1);
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

namespace {

int bind_port(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int result = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    result = ntohs(addr.sin_port);
  }
  close(fd);
  return result;
}

}  // namespace

std::string find_program(const std::string& name, const char* variable) {
  if (const char* given = std::getenv(variable); given != nullptr && *given != '\0') return given;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    std::string candidate = dirs.substr(start, colon - start);
    if (candidate.empty()) candidate = ".";
    candidate += "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return {};
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

unsigned long raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

namespace {

// A process never takes a port it has already taken (a probe's socket is
// closed at once, so nothing else would stop a second draw of the same
// port): one instance's admin and HTTP/3 ports must differ. (A bitset, not a
// std::set<int>: an instantiation of that in the test binary would stand in
// for the one inside Debian's uninstrumented libsrt, and ThreadSanitizer
// would then report libsrt's own locking.)
bool take_port(int port) {
  static std::mutex mutex;
  static std::bitset<65536> taken;
  std::lock_guard lock(mutex);
  if (port < 0 || port >= 65536 || taken.test(static_cast<std::size_t>(port))) return false;
  taken.set(static_cast<std::size_t>(port));
  return true;
}

// Ports are drawn at random below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): the kernel never gives one of those to a
// client socket of its own accord, so no other process's connection (an
// ffmpeg, a curl, a peer of a parallel test) can take a port between the
// probe here and the server's bind. The kernel's own choice is the fallback.
std::pair<int, int> quiet_ports() {
  int low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> low;
  if (!range || low <= 20000 + 1000) return {0, 0};
  return {20000, low - 1};
}

// (getrandom, not <random>: no engine instantiated in the test binary may
// stand in for one inside libsrt; see take_port.)
int pick_port(bool tcp, bool udp) {
  static const auto range = quiet_ports();
  auto is_free = [&](int p) {
    return (!tcp || bind_port(SOCK_STREAM, p) == p) && (!udp || bind_port(SOCK_DGRAM, p) == p);
  };
  if (range.first > 0) {
    const auto span = static_cast<unsigned>(range.second - range.first + 1);
    for (int i = 0; i < 200; ++i) {
      unsigned draw = 0;
      if (getrandom(&draw, sizeof draw, 0) != static_cast<ssize_t>(sizeof draw)) break;
      const int p = range.first + static_cast<int>(draw % span);
      if (is_free(p) && take_port(p)) return p;
    }
  }
  for (int i = 0; i < 100; ++i) {
    int p = bind_port(tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (p > 0 && is_free(p) && take_port(p)) return p;
  }
  throw std::runtime_error("no free port");
}

}  // namespace

int free_tcp_port() { return pick_port(true, false); }

int free_tcp_udp_port() { return pick_port(true, true); }

}  // namespace mirror::testing
