// Puts one RTP track on its stream's shared timeline. Audio and video of a raw
// RTP stream arrive as separate sessions with unrelated random timestamp
// origins; RTCP Sender Reports tie each session's RTP clock to wall-clock (NTP)
// time, so that pts = (wall time of the sample - stream epoch) x clock rate
// lines both tracks up exactly. Until a track's first Sender Report arrives its
// frames wait (at most `sr_wait`); after that the arrival time of the first
// packet stands in for the report.
// Threads: owned by the RTP ingest thread.
#pragma once

#include "ingest/rtp/rtp_unwrap.h"

#include <chrono>
#include <cstdint>
#include <optional>

namespace mirror::ingest {

class RtpTrackClock {
 public:
  using WallClock = std::chrono::system_clock;

  RtpTrackClock(std::uint32_t clock_rate, std::chrono::nanoseconds sr_wait)
      : clock_rate_(clock_rate), sr_wait_(sr_wait) {}

  std::uint32_t clock_rate() const { return clock_rate_; }

  // A Sender Report for this track's SSRC: the first one locks the mapping.
  void on_sender_report(WallClock::time_point ntp_time, std::uint32_t rtp_timestamp);
  // Notes a packet; locks by arrival once `sr_wait` has passed without a report.
  void on_packet(std::uint32_t rtp_timestamp, WallClock::time_point arrival);
  bool locked() const { return anchor_wall_.has_value(); }

  // The sample's wall-clock time (only once locked).
  WallClock::time_point wall_time(std::uint32_t rtp_timestamp);
  // Presentation time on the stream timeline that starts at `epoch`.
  std::int64_t pts(std::uint32_t rtp_timestamp, WallClock::time_point epoch);

  // A new source (SSRC change): the mapping must be learnt again.
  void reset();

 private:
  std::uint32_t clock_rate_;
  std::chrono::nanoseconds sr_wait_;
  RtpTimestampUnwrapper unwrap_;
  std::optional<WallClock::time_point> first_arrival_;
  std::optional<WallClock::time_point> anchor_wall_;
  std::int64_t anchor_rtp_ = 0;  // unwrapped
};

}  // namespace mirror::ingest
