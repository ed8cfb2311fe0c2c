// Held LL-HLS requests: N keep-alive HTTP/1.1 connections each holding a
// blocking playlist request (_HLS_msn/_HLS_part for the next part), over many
// parts. Prints:
//   hls_hold connections=N rounds=R rss_idle_mib=... rss_held_mib=... rss_per_request_kib=...
//   cpu_s_per_s=... release_spread_p50_ms=... release_spread_p99_ms=... wait_p50_ms=...
// release spread: per part, how long after the first waiter's answer arrived
// each other waiter's answer arrived (what "releasing everyone" costs);
// wait: from sending the requests to the first answer (the part's remaining
// production time). RSS and CPU are the server's, read from /proc.
// Usage: bench_hls_hold PORT STREAM CONNECTIONS ROUNDS SERVER_PID
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One blocking request/response on a fresh connection (for the playlist).
std::string fetch(int port, const std::string& path) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), 0) < 0) return {};
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : out.substr(body + 4);
}

double rss_mib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int refused = 0;  // answers other than 200

struct Conn {
  int fd = -1;
  std::string in;
  bool done = false;
};

// Whether `in` holds one complete response (Content-Length framed).
bool complete(const std::string& in) {
  const auto head = in.find("\r\n\r\n");
  if (head == std::string::npos) return false;
  std::string h = in.substr(0, head);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = h.find("content-length:");
  if (at == std::string::npos) return true;
  return in.size() >= head + 4 + std::stoul(h.substr(at + 15));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s PORT STREAM CONNECTIONS ROUNDS SERVER_PID\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string playlist = std::string("/streams/") + argv[2] + "/source/playlist.m3u8";
  const int n = std::atoi(argv[3]);
  const int rounds = std::atoi(argv[4]);
  const int pid = std::atoi(argv[5]);
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  const double rss_idle = rss_mib(pid);
  std::vector<Conn> conns(static_cast<std::size_t>(n));
  const int ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    conns[i].fd = connect_to(port);
    if (conns[i].fd < 0) {
      std::fprintf(stderr, "connect %d failed\n", i);
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  auto next_part = [&](long long& msn, int& part) {
    const std::string text = fetch(port, playlist);
    const std::string key = "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-";
    const auto at = text.find(key);
    if (at == std::string::npos) return false;
    const std::string rest = text.substr(at + key.size());
    const auto dot = rest.find('.');
    if (dot == std::string::npos) return false;
    msn = std::stoll(rest.substr(0, dot));
    part = std::stoi(rest.substr(dot + 1));
    return true;
  };

  // Sends one request on every connection and waits for every answer.
  auto run_round = [&](long long msn, int part, std::vector<double>* spreads, double* wait_ms,
                       double* rss_held) {
    const std::string req = playlist + "?_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part);
    const std::string wire = "GET " + req + " HTTP/1.1\r\nHost: b\r\n\r\n";
    for (auto& c : conns) {
      c.in.clear();
      c.done = false;
      if (::send(c.fd, wire.data(), wire.size(), 0) < 0) return false;
    }
    const auto sent = Clock::now();
    if (rss_held != nullptr) *rss_held = rss_mib(pid);  // every request is parked now
    std::vector<Clock::time_point> answered;
    answered.reserve(conns.size());
    const bool measured = rss_held == nullptr;
    std::vector<epoll_event> events(1024);
    char buf[65536];
    while (answered.size() < conns.size()) {
      const int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
      if (!measured && answered.empty()) *rss_held = std::max(*rss_held, rss_mib(pid));
      if (Clock::now() - sent > std::chrono::seconds(10)) return false;
      for (int i = 0; i < k; ++i) {
        Conn& c = conns[events[i].data.u32];
        for (ssize_t r; (r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
          c.in.append(buf, static_cast<std::size_t>(r));
        }
        if (!c.done && complete(c.in)) {
          c.done = true;
          answered.push_back(Clock::now());
          if (c.in.compare(0, 12, "HTTP/1.1 200") != 0) ++refused;
        }
      }
    }
    std::sort(answered.begin(), answered.end());
    if (wait_ms) *wait_ms = std::chrono::duration<double, std::milli>(answered.front() - sent).count();
    if (spreads) {
      for (const auto& t : answered) {
        spreads->push_back(std::chrono::duration<double, std::milli>(t - answered.front()).count());
      }
    }
    return true;
  };

  long long msn = 0;
  int part = 0;
  if (!next_part(msn, part)) {
    std::fprintf(stderr, "no playlist at %s\n", playlist.c_str());
    return 1;
  }
  // Hold phase: the first part of the next segment, so every request waits
  // long enough for the server's memory to be read while all are held.
  double rss_held = 0;
  if (!run_round(msn + 1, 0, nullptr, nullptr, &rss_held)) {
    std::fprintf(stderr, "hold round failed\n");
    return 1;
  }
  std::vector<double> spreads, waits;
  const double cpu0 = cpu_seconds(pid);
  const auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    if (!next_part(msn, part)) return 1;
    double wait = 0;
    if (!run_round(msn, part, &spreads, &wait, nullptr)) {
      std::fprintf(stderr, "round %d failed\n", r);
      return 1;
    }
    waits.push_back(wait);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds(pid) - cpu0;
  std::printf(
      "hls_hold connections=%d rounds=%d rss_idle_mib=%.1f rss_held_mib=%.1f rss_per_request_kib=%.2f "
      "cpu_s_per_s=%.3f release_spread_p50_ms=%.2f release_spread_p99_ms=%.2f release_spread_max_ms=%.2f "
      "wait_p50_ms=%.1f non_200=%d\n",
      n, rounds, rss_idle, rss_held, (rss_held - rss_idle) * 1024.0 / n, cpu / wall,
      percentile(spreads, 0.5), percentile(spreads, 0.99), percentile(spreads, 1.0), percentile(waits, 0.5), refused);
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
