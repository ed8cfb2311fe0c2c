#include "ingest/srt/srt_listener.h"

#include "ingest/live_stream.h"
#include "ingest/stream_id.h"

#include <srt/access_control.h>
#include <srt/srt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <syslog.h>

#include <cstring>

namespace mirror::ingest {
namespace {

// How long the epoll thread lets packets gather after a wake-up.
constexpr std::chrono::microseconds kBatchWindow{5000};

// libsrt is initialised once per process however many listeners exist.
std::mutex g_srt_mutex;
int g_srt_users = 0;

// Immortal: libsrt's threads may log while the process exits.
core::log::KeyedLogLimiter& srt_library_log() {
  static auto* const limiter = new core::log::KeyedLogLimiter(std::chrono::seconds(10));
  return *limiter;
}

void on_srt_log(void*, int level, const char* /*file*/, int /*line*/, const char* area,
                const char* message) {
  std::string_view msg(message != nullptr ? message : "");
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.remove_suffix(1);
  srt_library_log().log(area != nullptr ? area : "srt",
                        level <= LOG_ERR ? core::log::Level::kWarn : core::log::Level::kDebug,
                        "libsrt", {{"area", area != nullptr ? area : ""}, {"message", msg}});
}

void srt_acquire() {
  std::lock_guard lock(g_srt_mutex);
  if (g_srt_users++ == 0) {
    srt_startup();
    srt_setloglevel(LOG_ERR);
    srt_setloghandler(nullptr, on_srt_log);
  }
}

void srt_release() {
  std::lock_guard lock(g_srt_mutex);
  if (--g_srt_users == 0) srt_cleanup();
}

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (sa == nullptr) return "unknown";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  } else {
    return "unknown";
  }
  return std::string(host) + ":" + std::to_string(port);
}

int reject_code(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kAlreadyExists: return SRT_REJX_CONFLICT;
    case core::ErrorCode::kCapacityFull: return SRT_REJX_OVERLOAD;
    case core::ErrorCode::kInvalidInput: return SRT_REJX_BAD_REQUEST;
    default: return SRT_REJX_ISE;
  }
}

std::string_view reject_reason(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kAlreadyExists: return "name_in_use";
    case core::ErrorCode::kCapacityFull: return "max_streams";
    case core::ErrorCode::kInvalidInput: return "bad_stream_id";
    default: return "internal";
  }
}

template <class T>
bool set_flag(SRTSOCKET s, SRT_SOCKOPT opt, T value) {
  return srt_setsockflag(s, opt, &value, sizeof value) == 0;
}

}  // namespace

nlohmann::json SrtLinkStats::to_json() const {
  return {{"rtt_ms", rtt_ms.load()},
          {"receive_rate_mbps", receive_rate_mbps.load()},
          {"receive_buffer_ms", receive_buffer_ms.load()},
          {"packets_received", packets_received.load()},
          {"packets_lost", packets_lost.load()},
          {"packets_retransmitted", packets_retransmitted.load()},
          {"packets_dropped", packets_dropped.load()},
          {"packets_undecrypted", packets_undecrypted.load()},
          {"bytes_received", bytes_received.load()}};
}

struct SrtListener::Connection {
  SRTSOCKET socket = SRT_INVALID_SOCK;
  std::shared_ptr<LiveStream> stream;
  std::unique_ptr<ByteSink> sink;
  std::string remote;
  std::shared_ptr<SrtLinkStats> link = std::make_shared<SrtLinkStats>();
  std::uint64_t bytes_this_second = 0;
  int seconds_over_limit = 0;
};

SrtListener::SrtListener(core::SrtConfig config, StreamTable& streams, ByteSinkFactory sinks,
                         core::MetricsRegistry& metrics, std::string bind_address)
    : config_(std::move(config)),
      streams_(streams),
      sinks_(std::move(sinks)),
      bind_address_(std::move(bind_address)),
      rejected_(metrics.counter("mirror_ingest_rejected_total",
                                "Publishers refused in the handshake, by reason",
                                {"protocol", "reason"})),
      accepted_(metrics.counter("mirror_ingest_connections_total", "Publisher connections accepted",
                                {"protocol"})) {}

SrtListener::~SrtListener() { stop(std::chrono::steady_clock::now()); }

core::Status SrtListener::start() {
  srt_acquire();
  auto fail = [&](std::string what) -> core::Status {
    std::string err = srt_getlasterror_str();
    if (listener_ != SRT_INVALID_SOCK && listener_ >= 0) srt_close(listener_);
    listener_ = -1;
    srt_release();
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       "srt listener cannot " + what + " on udp port " +
                           std::to_string(config_.port) + ": " + err,
                       {{"port", config_.port}, {"protocol", "udp"}});
  };

  listener_ = srt_create_socket();
  if (listener_ == SRT_INVALID_SOCK) return fail("create a socket");
  const int latency_ms =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(config_.latency).count());
  bool ok = set_flag(listener_, SRTO_RCVSYN, false) &&
            set_flag(listener_, SRTO_RCVLATENCY, latency_ms) &&
            set_flag(listener_, SRTO_PEERLATENCY, latency_ms) &&
            set_flag(listener_, SRTO_RCVBUF, static_cast<int>(config_.buffer_size)) &&
            set_flag(listener_, SRTO_UDP_RCVBUF, static_cast<int>(config_.buffer_size));
  if (ok && !config_.passphrase.empty()) {
    ok = srt_setsockflag(listener_, SRTO_PASSPHRASE, config_.passphrase.data(),
                         static_cast<int>(config_.passphrase.size())) == 0 &&
         set_flag(listener_, SRTO_PBKEYLEN, config_.pbkeylen);
  }
  if (!ok) return fail("set socket options");

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(config_.port));
  if (inet_pton(AF_INET, bind_address_.c_str(), &addr.sin_addr) != 1) return fail("parse address");
  if (srt_bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind");
  if (srt_listen_callback(listener_, &SrtListener::on_listen, this) != 0) {
    return fail("install the handshake callback");
  }
  if (srt_listen(listener_, 64) != 0) return fail("listen");

  sockaddr_in bound{};
  int len = sizeof bound;
  srt_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = ntohs(bound.sin_port);

  epoll_ = srt_epoll_create();
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(epoll_, listener_, &events);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  core::log::info("srt listener ready",
                  {{"port", bound_port_},
                   {"latency_ms", latency_ms},
                   {"encrypted", !config_.passphrase.empty()},
                   {"max_bitrate", config_.max_bitrate}});
  return core::Ok{};
}

void SrtListener::stop(core::Deadline) {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  // The epoll thread closed the connections on its way out.
  srt_epoll_release(epoll_);
  srt_close(listener_);
  listener_ = -1;
  epoll_ = -1;
  srt_release();
}

int SrtListener::on_listen(void* self, int socket, int, const sockaddr* peer,
                           const char* stream_id) {
  return static_cast<SrtListener*>(self)->admit_in_handshake(socket, peer, stream_id);
}

int SrtListener::admit_in_handshake(int socket, const sockaddr* peer, const char* stream_id) {
  auto name = parse_stream_id(stream_id != nullptr ? stream_id : "");
  core::Status verdict = name ? streams_.check(*name) : core::Status(name.error());
  if (verdict) return 0;
  const auto code = verdict.error().code;
  srt_setrejectreason(socket, reject_code(code));
  count_rejection(reject_reason(code));
  reject_log_.log(std::string(reject_reason(code)), core::log::Level::kWarn,
                  "srt publisher refused",
                  {{"reason", verdict.error().message},
                   {"stream_id", std::string_view(stream_id != nullptr ? stream_id : "").substr(0, 80)},
                   {"remote", address_text(peer)}});
  return -1;
}

void SrtListener::count_rejection(std::string_view reason) {
  rejected_.with({"srt", std::string(reason)}).inc();
}

void SrtListener::run() {
  SRT_EPOLL_EVENT events[64];
  auto next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (running_.load(std::memory_order_acquire)) {
    const int n = srt_epoll_uwait(epoll_, events, 64, 100);
    if (n > 0 && !connections_.empty()) {
      // libsrt releases live-mode packets one by one; waking for each costs more
      // than the packet itself at 50 Mbit/s (over 4,000 wake-ups a second per
      // stream). A short pause lets a batch gather: 5 ms of latency at most,
      // for a third of the CPU (see docs/BENCHMARKS.md).
      std::this_thread::sleep_for(kBatchWindow);
    }
    for (int i = 0; i < n; ++i) {
      const SRTSOCKET s = events[i].fd;
      if (s == listener_) {
        accept_pending();
        continue;
      }
      auto it = connections_.find(s);
      if (it == connections_.end()) continue;
      if ((events[i].events & SRT_EPOLL_IN) != 0) read_from(*it->second);
      if ((events[i].events & SRT_EPOLL_ERR) != 0 || srt_getsockstate(s) >= SRTS_BROKEN) {
        close_connection(s, "connection lost");
      }
    }
    std::vector<int> hangups;
    {
      std::lock_guard lock(hangups_mutex_);
      hangups.swap(hangups_);
    }
    for (int s : hangups) close_connection(s, "disconnected by request");
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      sample_stats(now);
      streams_.expire(now);
      next_tick = now + std::chrono::seconds(1);
    }
  }
  while (!connections_.empty()) close_connection(connections_.begin()->first, "server stopping");
}

void SrtListener::accept_pending() {
  // One accept per readiness report: the epoll is level-triggered, so another
  // pending caller wakes it again at once (and libsrt logs an error for an
  // accept that finds nobody waiting).
  {
    sockaddr_storage addr{};
    int len = sizeof addr;
    SRTSOCKET s = srt_accept(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    if (s == SRT_INVALID_SOCK) return;
    char sid[600] = {};
    int sid_len = sizeof sid - 1;
    srt_getsockflag(s, SRTO_STREAMID, sid, &sid_len);
    auto name = parse_stream_id(std::string_view(sid, static_cast<std::size_t>(std::max(0, sid_len))));
    auto stream = name ? streams_.admit(*name, "srt")
                       : core::Result<std::shared_ptr<LiveStream>>(name.error());
    if (!stream) {
      // Lost a race with another publisher of the same name since the handshake.
      count_rejection(reject_reason(stream.error().code));
      core::log::warn("srt publisher refused after accept", {{"reason", stream.error().message}});
      srt_close(s);
      return;
    }
    auto c = std::make_unique<Connection>();
    c->socket = s;
    c->stream = *stream;
    c->remote = address_text(reinterpret_cast<sockaddr*>(&addr));
    c->sink = sinks_(c->stream);
    set_flag(s, SRTO_RCVSYN, false);
    int ev = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    srt_epoll_add_usock(epoll_, s, &ev);
    auto link = c->link;
    c->stream->set_publisher(
        c->remote,
        [this, s] {
          std::lock_guard lock(hangups_mutex_);
          hangups_.push_back(s);
        },
        [link] { return link->to_json(); });
    accepted_.with({"srt"}).inc();
    core::log::info("srt publisher connected",
                    {{"stream", c->stream->name()}, {"remote", c->remote}});
    connections_.emplace(s, std::move(c));
    connection_count_.store(connections_.size(), std::memory_order_relaxed);
  }
}

void SrtListener::read_from(Connection& c) {
  // One SRT live-mode message is one UDP payload: at most 1456 bytes.
  std::uint8_t buf[1500];
  for (;;) {
    const int n = srt_recvmsg(c.socket, reinterpret_cast<char*>(buf), sizeof buf);
    if (n <= 0) return;  // SRT_EASYNCRCV: drained; errors surface as an epoll error
    const auto arrival = std::chrono::system_clock::now();
    c.bytes_this_second += static_cast<std::uint64_t>(n);
    c.stream->record_bytes(static_cast<std::size_t>(n));
    c.sink->push(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)), arrival);
  }
}

void SrtListener::close_connection(int socket, const char* reason) {
  auto it = connections_.find(socket);
  if (it == connections_.end()) return;
  auto c = std::move(it->second);
  connections_.erase(it);
  connection_count_.store(connections_.size(), std::memory_order_relaxed);
  srt_epoll_remove_usock(epoll_, socket);
  srt_close(socket);
  c->sink->finish();
  core::log::info("srt publisher disconnected",
                  {{"stream", c->stream->name()}, {"remote", c->remote}, {"reason", reason}});
  streams_.publisher_left(c->stream);
}

void SrtListener::sample_stats(std::chrono::steady_clock::time_point) {
  std::vector<int> over_limit;
  for (auto& [s, c] : connections_) {
    SRT_TRACEBSTATS perf{};
    if (srt_bstats(s, &perf, 0) == 0) {
      auto& l = *c->link;
      l.rtt_ms = perf.msRTT;
      l.receive_rate_mbps = perf.mbpsRecvRate;
      l.receive_buffer_ms = perf.msRcvBuf;
      l.packets_received = static_cast<std::uint64_t>(std::max<int64_t>(0, perf.pktRecvTotal));
      l.packets_lost = static_cast<std::uint64_t>(std::max(0, perf.pktRcvLossTotal));
      l.packets_retransmitted = static_cast<std::uint64_t>(std::max(0, perf.pktRcvRetrans));
      l.packets_dropped = static_cast<std::uint64_t>(std::max(0, perf.pktRcvDropTotal));
      l.packets_undecrypted = static_cast<std::uint64_t>(std::max(0, perf.pktRcvUndecryptTotal));
      l.bytes_received = perf.byteRecvTotal;
    }
    // ingestion.srt.max_bitrate: a second above it is counted; a sender far
    // above it for several seconds is hung up on, to protect every other stream.
    const double bps = static_cast<double>(c->bytes_this_second) * 8;
    c->bytes_this_second = 0;
    if (bps > static_cast<double>(config_.max_bitrate)) {
      c->stream->record_error(StreamError::kBitrate);
      bitrate_log_.log(core::log::Level::kWarn, "srt publisher above ingestion.srt.max_bitrate",
                       {{"stream", c->stream->name()},
                        {"bitrate", bps},
                        {"max_bitrate", config_.max_bitrate}});
      if (bps > 1.5 * static_cast<double>(config_.max_bitrate)) {
        if (++c->seconds_over_limit >= 3) over_limit.push_back(s);
      } else {
        c->seconds_over_limit = 0;
      }
    } else {
      c->seconds_over_limit = 0;
    }
  }
  for (int s : over_limit) {
    count_rejection("max_bitrate");
    close_connection(s, "sustained bitrate above ingestion.srt.max_bitrate");
  }
}

}  // namespace mirror::ingest
