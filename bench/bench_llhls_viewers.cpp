// LL-HLS viewers as hls.js behaves in low-latency mode: each reads a media
// playlist, then asks for the preload-hinted part's blocking playlist reload
// and that part, again and again, on one keep-alive HTTP/1.1 connection.
// One thread per viewer (plain blocking sockets), so that a slow server shows
// as late viewers rather than as a slow client loop.
//
//   bench_llhls_viewers --port P --path /streams/NAME/RENDITION/ --viewers N
//                       [--port-b P2 --viewers-b N2] --seconds T [--part-ms 100]
//
// For every part it records when each viewer finished receiving it. Prints:
//   llhls_viewers group=a viewers=N parts=K requests=R failures=F
//       late_p50_ms=.. late_p95_ms=.. late_max_ms=.. late_over_part=FRACTION
// where "late" is how long after the group's first viewer each viewer had
// the part (what the server's fan-out costs the last viewers), and
// late_over_part the share of (viewer, part) pairs later than one part or
// skipped. With
// a second group (through an edge, say) it also prints
//   llhls_viewers compare=b_minus_a parts=K p50_ms=.. p95_ms=..
// the per-part difference of the two groups' median arrival times.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0;
  int port_b = 0;
  int viewers = 100;
  int viewers_b = 0;
  int seconds = 10;
  int part_ms = 100;
  std::string path;
};

// Arrival times of each part ("msn.part") for one group of viewers.
struct Group {
  std::mutex mutex;
  std::map<std::string, std::vector<double>> arrivals;  // ms since start
  std::atomic<long long> requests{0};
  std::atomic<long long> failures{0};
};

class Connection {
 public:
  explicit Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{15, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // GET `path`; the body of a 200, or nullopt.
  std::optional<std::string> get(const std::string& path) {
    if (fd_ < 0) return std::nullopt;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: viewer\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return std::nullopt;
    }
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    const std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string body;
    if (const auto at = lower.find("content-length:"); at != std::string::npos) {
      const std::size_t length = std::strtoull(lower.c_str() + at + 15, nullptr, 10);
      while (buffer_.size() < length) {
        if (!fill()) return std::nullopt;
      }
      body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::size_t line_end;
        while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill()) return std::nullopt;
        }
        const std::size_t size = std::strtoull(buffer_.c_str(), nullptr, 16);
        while (buffer_.size() < line_end + 2 + size + 2) {
          if (!fill()) return std::nullopt;
        }
        body.append(buffer_, line_end + 2, size);
        buffer_.erase(0, line_end + 2 + size + 2);
        if (size == 0) break;
      }
    }
    if (status != 200) return std::nullopt;
    return body;
  }

 private:
  bool fill() {
    char chunk[65536];
    const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
};

void viewer(int port, const std::string& base, Clock::time_point start, Clock::time_point until,
            Group& group) {
  Connection c(port);
  const std::regex hint(R"#(PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s")#");
  auto get = [&](const std::string& path) {
    ++group.requests;
    auto body = c.get(path);
    if (!body) ++group.failures;
    return body;
  };
  auto playlist = get(base + "playlist.m3u8");
  std::smatch m;
  while (playlist && Clock::now() < until && std::regex_search(*playlist, m, hint)) {
    const std::string msn = m[1];
    const std::string part = m[2];
    playlist = get(base + "playlist.m3u8?_HLS_msn=" + msn + "&_HLS_part=" + part);
    if (!playlist || !get(base + "part-" + msn + "." + part + ".m4s")) break;
    const double at = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::lock_guard lock(group.mutex);
    group.arrivals[msn + "." + part].push_back(at);
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// Parts that at least 90% of the group's viewers received: the first and
// last few are cut off (viewers join and leave at different moments). A
// viewer that missed one of them had fallen more than a part behind (its
// next blocking reload named a newer part).
std::map<std::string, std::vector<double>> complete_parts(Group& g, int viewers) {
  std::map<std::string, std::vector<double>> out;
  for (auto& [key, times] : g.arrivals) {
    if (static_cast<double>(times.size()) >= 0.9 * viewers) out[key] = times;
  }
  return out;
}

void report(const char* name, Group& g, int viewers, int part_ms) {
  const auto parts = complete_parts(g, viewers);
  std::vector<double> late;
  long long over = 0;
  long long pairs = 0;
  for (const auto& [key, times] : parts) {
    const double first = *std::min_element(times.begin(), times.end());
    for (double t : times) {
      late.push_back(t - first);
      if (t - first > part_ms) ++over;
    }
    over += viewers - static_cast<long long>(times.size());  // skipped: more than a part behind
    pairs += viewers;
  }
  std::printf(
      "llhls_viewers group=%s viewers=%d parts=%zu requests=%lld failures=%lld late_p50_ms=%.1f "
      "late_p95_ms=%.1f "
      "late_max_ms=%.1f late_over_part=%.4f\n",
      name, viewers, parts.size(), g.requests.load(), g.failures.load(), percentile(late, 0.5),
      percentile(late, 0.95), late.empty() ? 0.0 : *std::max_element(late.begin(), late.end()),
      pairs == 0 ? 1.0 : static_cast<double>(over) / static_cast<double>(pairs));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--port")
      o.port = std::atoi(v);
    else if (k == "--port-b")
      o.port_b = std::atoi(v);
    else if (k == "--viewers")
      o.viewers = std::atoi(v);
    else if (k == "--viewers-b")
      o.viewers_b = std::atoi(v);
    else if (k == "--seconds")
      o.seconds = std::atoi(v);
    else if (k == "--part-ms")
      o.part_ms = std::atoi(v);
    else if (k == "--path")
      o.path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port == 0 || o.path.empty()) {
    std::fprintf(stderr,
                 "usage: bench_llhls_viewers --port P --path /streams/NAME/RENDITION/ --viewers N "
                 "[--port-b P2 --viewers-b N2] --seconds T [--part-ms 100]\n");
    return 2;
  }
  Group a;
  Group b;
  const auto start = Clock::now();
  const auto until = start + std::chrono::seconds(o.seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.viewers; ++i)
    threads.emplace_back([&] { viewer(o.port, o.path, start, until, a); });
  for (int i = 0; i < o.viewers_b; ++i)
    threads.emplace_back([&] { viewer(o.port_b, o.path, start, until, b); });
  for (auto& t : threads) t.join();
  report("a", a, o.viewers, o.part_ms);
  if (o.viewers_b > 0) {
    report("b", b, o.viewers_b, o.part_ms);
    const auto pa = complete_parts(a, o.viewers);
    const auto pb = complete_parts(b, o.viewers_b);
    std::vector<double> diff;
    for (const auto& [key, times] : pb) {
      auto it = pa.find(key);
      if (it != pa.end()) diff.push_back(percentile(times, 0.5) - percentile(it->second, 0.5));
    }
    std::printf("llhls_viewers compare=b_minus_a parts=%zu p50_ms=%.1f p95_ms=%.1f\n", diff.size(),
                percentile(diff, 0.5), percentile(diff, 0.95));
  }
  return a.requests > 0 ? 0 : 1;
}
