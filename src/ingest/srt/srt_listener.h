// The SRT ingest listener (libsrt, live mode). Publishers are admitted or
// refused inside the handshake (listen callback), by stream id, capacity and
// passphrase, so a refused caller is never accepted and dropped. Every
// connection is served by one epoll thread that reads MPEG-TS into the
// stream's ByteSink, samples link statistics once a second, enforces
// ingestion.srt.max_bitrate and expires reconnect windows.
//
// Threads: start()/stop() on the control thread; the epoll thread owns every
// connection; the listen callback runs on libsrt's receiver thread and only
// reads the StreamTable. health() and link statistics are safe anywhere.
#pragma once

#include <sys/socket.h>

#include "core/config.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/service.h"
#include "ingest/byte_sink.h"
#include "ingest/stream_table.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirror::ingest {

// Figures libsrt keeps per connection, sampled by the epoll thread.
struct SrtLinkStats {
  std::atomic<double> rtt_ms{0};
  std::atomic<double> receive_rate_mbps{0};
  std::atomic<double> receive_buffer_ms{0};
  std::atomic<std::uint64_t> packets_received{0};
  std::atomic<std::uint64_t> packets_lost{0};
  std::atomic<std::uint64_t> packets_retransmitted{0};
  std::atomic<std::uint64_t> packets_dropped{0};
  std::atomic<std::uint64_t> packets_undecrypted{0};
  std::atomic<std::uint64_t> bytes_received{0};

  nlohmann::json to_json() const;
};

class SrtListener {
 public:
  SrtListener(core::SrtConfig config, StreamTable& streams, ByteSinkFactory sinks,
              core::MetricsRegistry& metrics, std::string bind_address = "0.0.0.0");
  ~SrtListener();
  SrtListener(const SrtListener&) = delete;
  SrtListener& operator=(const SrtListener&) = delete;

  // Binds the UDP port and starts the epoll thread; a port in use names itself.
  core::Status start();
  // Closes every connection (streams go to their reconnect window) and the port.
  void stop(core::Deadline deadline);

  int port() const { return bound_port_; }
  std::size_t connection_count() const { return connection_count_.load(std::memory_order_relaxed); }

 private:
  struct Connection;
  static int on_listen(void* self, int socket, int hs_version, const sockaddr* peer,
                       const char* stream_id);
  int admit_in_handshake(int socket, const sockaddr* peer, const char* stream_id);
  void run();
  void accept_pending();
  void read_from(Connection& c);
  void close_connection(int socket, const char* reason);
  void sample_stats(std::chrono::steady_clock::time_point now);
  void count_rejection(std::string_view reason);

  core::SrtConfig config_;
  StreamTable& streams_;
  ByteSinkFactory sinks_;
  std::string bind_address_;

  int listener_ = -1;
  int epoll_ = -1;
  int bound_port_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::map<int, std::unique_ptr<Connection>> connections_;  // epoll thread only
  std::atomic<std::size_t> connection_count_{0};

  // Hang-up requests from other threads (admin DELETE), served by the epoll thread.
  std::mutex hangups_mutex_;
  std::vector<int> hangups_;

  core::CounterFamily& rejected_;
  core::CounterFamily& accepted_;
  core::log::KeyedLogLimiter reject_log_{std::chrono::seconds(10)};
  core::log::LogLimiter bitrate_log_{std::chrono::seconds(10)};
};

}  // namespace mirror::ingest
