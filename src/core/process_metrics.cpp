#include "core/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Reads a whole /proc file. /proc files report size 0, so read until EOF.
std::optional<std::string> read_proc_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<double> to_number(std::string_view s) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return static_cast<double>(v);
}

// Fields of /proc/self/stat after the command name. The name is in parentheses
// and may itself contain spaces and ')', so split after the last ')'.
// Index 0 is field 3 (state) of proc(5).
std::vector<std::string_view> stat_fields(const std::string& stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  return split_spaces(std::string_view(stat).substr(close + 1));
}

constexpr std::size_t kUtime = 14 - 3;
constexpr std::size_t kStime = 15 - 3;
constexpr std::size_t kStarttime = 22 - 3;

double clock_ticks() {
  return static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double read_cpu_seconds() {
  auto stat = read_proc_file("/proc/self/stat");
  if (!stat) return kNaN;
  auto f = stat_fields(*stat);
  if (f.size() <= kStime) return kNaN;
  auto user = to_number(f[kUtime]);
  auto sys = to_number(f[kStime]);
  if (!user || !sys) return kNaN;
  return (*user + *sys) / clock_ticks();
}

// /proc/self/statm: size resident shared text lib data dt, in pages.
double read_statm_field(std::size_t index) {
  auto statm = read_proc_file("/proc/self/statm");
  if (!statm) return kNaN;
  auto f = split_spaces(*statm);
  if (f.size() <= index) return kNaN;
  auto pages = to_number(f[index]);
  if (!pages) return kNaN;
  return *pages * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double read_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return kNaN;
  const int own = ::dirfd(dir);
  double n = 0;
  while (const dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    // The descriptor used to list the directory is not one of the process' own.
    if (name == std::to_string(own)) continue;
    ++n;
  }
  ::closedir(dir);
  return n;
}

double read_max_fds() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return kNaN;
  if (lim.rlim_cur == RLIM_INFINITY) return std::numeric_limits<double>::infinity();
  return static_cast<double>(lim.rlim_cur);
}

// Boot time (btime in /proc/stat) plus the process' start in ticks since boot.
double read_start_time_seconds() {
  auto proc_stat = read_proc_file("/proc/stat");
  auto self_stat = read_proc_file("/proc/self/stat");
  if (!proc_stat || !self_stat) return kNaN;
  std::optional<double> btime;
  std::string_view rest = *proc_stat;
  while (!rest.empty()) {
    std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.starts_with("btime ")) {
      auto f = split_spaces(line);
      if (f.size() >= 2) btime = to_number(f[1]);
      break;
    }
  }
  auto f = stat_fields(*self_stat);
  if (!btime || f.size() <= kStarttime) return kNaN;
  auto start_ticks = to_number(f[kStarttime]);
  if (!start_ticks) return kNaN;
  return *btime + *start_ticks / clock_ticks();
}

}  // namespace

ProcessStats read_process_stats() {
  return ProcessStats{
      .cpu_seconds = read_cpu_seconds(),
      .resident_memory_bytes = read_statm_field(1),
      .virtual_memory_bytes = read_statm_field(0),
      .open_fds = read_open_fds(),
      .max_fds = read_max_fds(),
      .start_time_seconds = read_start_time_seconds(),
  };
}

void register_process_metrics(MetricsRegistry& registry) {
  registry.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
      .with_callback({}, read_cpu_seconds);
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
      .with_callback({}, [] { return read_statm_field(1); });
  registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
      .with_callback({}, [] { return read_statm_field(0); });
  registry.gauge("process_open_fds", "Number of open file descriptors.")
      .with_callback({}, read_open_fds);
  registry.gauge("process_max_fds", "Maximum number of open file descriptors.")
      .with_callback({}, read_max_fds);
  // The start time never changes: read it once instead of on every scrape.
  const double start = read_start_time_seconds();
  registry
      .gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
      .with_callback({}, [start] { return start; });
}

}  // namespace mirror::core
