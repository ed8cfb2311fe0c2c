// RTP ingest. One thread serves every RTP socket:
//  - the shared port (ingestion.rtp.port): MPEG-TS over RTP (payload type 33)
//    needs no set-up; each (source address, SSRC) is a session whose stream is
//    called rtp-<ssrc in hex>, unless the admin API bound that SSRC to a name.
//    A session nobody declared is a candidate first: it must come from
//    ingestion.rtp.allowed_sources (when ingestion.rtp.allow_undeclared is
//    on at all) and show a second of media (PES timestamps spanning 1 s)
//    before it takes a stream slot; at most 64 candidates are tracked, each
//    forgotten after 5 s of silence. A spray of SSRCs therefore never fills
//    the stream table ahead of a real publisher;
//  - ports declared by an SDP through the admin API: H.264, HEVC, AAC or
//    MPEG-TS, one socket per m= line plus its RTCP port (+1).
// Packets go through a jitter buffer per track (reordering within
// ingestion.rtp.jitter_buffer, losses counted), then a depacketizer; raw
// tracks are put on one timeline by RTCP Sender Reports (rtp_track_clock.h).
// A session silent for a few seconds counts as a publisher that left.
//
// Threads: start/stop/declare/bind_ssrc from any thread (requests are queued
// to the RTP thread where they touch its state); everything else runs on the
// RTP thread.
#pragma once

#include "core/config.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "ingest/stream_table.h"

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirror::ingest {

class RtpIngest {
 public:
  RtpIngest(core::RtpConfig config, StreamTable& streams, core::MetricsRegistry& metrics,
            std::string bind_address = "0.0.0.0");
  ~RtpIngest();
  RtpIngest(const RtpIngest&) = delete;
  RtpIngest& operator=(const RtpIngest&) = delete;

  // Binds the shared RTP port and its RTCP port; names the port when in use.
  core::Status start();
  void stop();

  // Declares a raw RTP stream from an SDP: binds the ports of its m= lines.
  // INVALID_INPUT for a bad SDP or an unsupported encoding, ALREADY_EXISTS for
  // a name in use, CAPACITY_FULL past max_streams, SERVICE_UNAVAILABLE when a
  // port cannot be bound. Returns the bound ports.
  // `done` runs once, on the RTP thread (or at once on the caller's for an
  // error found before), so an event-loop thread never waits for it.
  using DeclareDone = std::function<void(core::Result<std::vector<int>>)>;
  void declare(const std::string& name, const std::string& sdp, DeclareDone done);
  // Names the MPEG-TS session of `ssrc` on the shared port; `done` as above.
  using BindDone = std::function<void(core::Status)>;
  void bind_ssrc(std::uint32_t ssrc, const std::string& name, BindDone done);
  // The same, waiting up to 5 s for the answer: for callers that may block
  // (tests, start-up), never for event-loop threads.
  core::Result<std::vector<int>> declare(const std::string& name, const std::string& sdp);
  core::Status bind_ssrc(std::uint32_t ssrc, const std::string& name);

  int port() const { return bound_port_; }
  // How long a session may be silent before its publisher counts as gone.
  static constexpr std::chrono::seconds kIdleTimeout{3};

  struct Impl;

 private:
  // Shared so that the stream table's callback can tell whether it still lives.
  std::shared_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace mirror::ingest
