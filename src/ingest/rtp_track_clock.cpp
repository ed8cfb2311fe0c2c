#include "ingest/rtp_track_clock.h"

namespace mirror::ingest {

void RtpTrackClock::on_sender_report(WallClock::time_point ntp_time, std::uint32_t rtp_timestamp) {
  if (anchor_wall_) return;
  anchor_wall_ = ntp_time;
  anchor_rtp_ = unwrap_.unwrap(rtp_timestamp);
}

void RtpTrackClock::on_packet(std::uint32_t rtp_timestamp, WallClock::time_point arrival) {
  if (anchor_wall_) return;
  if (!first_arrival_) {
    first_arrival_ = arrival;
    anchor_rtp_ = unwrap_.unwrap(rtp_timestamp);
    return;
  }
  if (arrival - *first_arrival_ >= sr_wait_) {
    // No report in time: the first packet's arrival is the best guess there is.
    anchor_wall_ = *first_arrival_;
  }
}

RtpTrackClock::WallClock::time_point RtpTrackClock::wall_time(std::uint32_t rtp_timestamp) {
  const std::int64_t ticks = unwrap_.unwrap(rtp_timestamp) - anchor_rtp_;
  const auto ns = static_cast<std::int64_t>(static_cast<long double>(ticks) * 1e9L / clock_rate_);
  return anchor_wall_.value_or(WallClock::time_point{}) + std::chrono::nanoseconds(ns);
}

std::int64_t RtpTrackClock::pts(std::uint32_t rtp_timestamp, WallClock::time_point epoch) {
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(wall_time(rtp_timestamp) - epoch);
  return static_cast<std::int64_t>(static_cast<long double>(since.count()) * clock_rate_ / 1e9L);
}

void RtpTrackClock::reset() {
  unwrap_.reset();
  first_arrival_.reset();
  anchor_wall_.reset();
  anchor_rtp_ = 0;
}

}  // namespace mirror::ingest
