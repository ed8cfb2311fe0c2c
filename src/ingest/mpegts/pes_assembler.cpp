#include "ingest/mpegts/pes_assembler.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace mirror::ingest {
namespace {

// First guess for an unbounded PES before the PID has shown its sizes: one
// 64 KiB block holds a typical SD/HD inter frame.
constexpr std::size_t kInitialSizeHint = 64u << 10;
constexpr std::size_t kMinSizeHint = 2u << 10;
constexpr std::size_t kMaxSizeHint = 4u << 20;

}  // namespace

PesAssembler::PesAssembler(std::uint16_t pid, std::uint8_t stream_type, core::BufferPool& pool)
    : pid_(pid), stream_type_(stream_type), pool_(&pool), size_hint_(kInitialSizeHint) {}

void PesAssembler::push(std::span<const std::uint8_t> payload, bool unit_start,
                        std::chrono::system_clock::time_point arrival, PesSink& sink) {
  if (unit_start) {
    finish_current(sink);
    start(arrival);
  } else if (state_ == State::kWaitStart && ended_by_padding_) {
    // More of a PES that a padded packet seemed to end: this muxer pads
    // mid-PES, so padding no longer ends units on this PID.
    padding_ends_units_ = false;
  }
  ended_by_padding_ = false;
  if (state_ == State::kHeader) payload = take_header(payload, sink);
  if (state_ == State::kPayload) take_payload(payload, sink);
}

void PesAssembler::drop() noexcept {
  // The timeline break still lies before whatever PES comes next.
  pending_discontinuity_ = pending_discontinuity_ || discontinuity_;
  discontinuity_ = false;
  state_ = State::kWaitStart;
  buffer_.reset();
  fill_ = 0;
}

void PesAssembler::flush(PesSink& sink) {
  finish_current(sink);
}

void PesAssembler::end_of_unit(PesSink& sink) {
  if (padding_ends_units_ && state_ == State::kPayload && !expected_) {
    deliver(sink);
    ended_by_padding_ = true;
  }
}

void PesAssembler::finish_current(PesSink& sink) {
  switch (state_) {
    case State::kWaitStart:
      return;
    case State::kHeader:
      abandon(sink, PesError::kTruncated);
      return;
    case State::kPayload:
      // A complete bounded PES was delivered the moment it completed, so one
      // still here is short.
      if (expected_) {
        abandon(sink, PesError::kTruncated);
      } else {
        deliver(sink);
      }
      return;
  }
}

void PesAssembler::start(std::chrono::system_clock::time_point arrival) noexcept {
  state_ = State::kHeader;
  header_length_ = 0;
  fill_ = 0;
  expected_.reset();
  buffer_.reset();
  arrival_ = arrival;
  random_access_ = std::exchange(pending_random_access_, false);
  discontinuity_ = std::exchange(pending_discontinuity_, false);
}

std::span<const std::uint8_t> PesAssembler::take_header(std::span<const std::uint8_t> payload,
                                                        PesSink& sink) {
  auto collect = [&](std::size_t target) {
    if (header_length_ >= target) return;
    const std::size_t n = std::min(target - header_length_, payload.size());
    std::memcpy(header_bytes_.data() + header_length_, payload.data(), n);
    header_length_ += n;
    payload = payload.subspan(n);
  };
  collect(kPesFixedHeaderSize);
  const std::span<const std::uint8_t> collected(header_bytes_.data(), header_length_);
  PesHeaderStatus status = parse_pes_header(collected, header_);
  if (status == PesHeaderStatus::kNeedMoreData && header_.header_size > header_length_) {
    collect(header_.header_size);
    status = parse_pes_header({header_bytes_.data(), header_length_}, header_);
  }
  if (status == PesHeaderStatus::kNeedMoreData) return {};  // more in the next packet
  if (status != PesHeaderStatus::kOk) {
    abandon(sink, PesError::kBadHeader);
    return {};
  }
  if (header_.marker_errors > 0) sink.on_pes_error(pid_, PesError::kTimestampMarker);
  if (!begin_payload(sink)) return {};
  return payload;
}

bool PesAssembler::begin_payload(PesSink& sink) {
  expected_ = header_.payload_length();
  state_ = State::kPayload;
  fill_ = 0;
  if (expected_ && *expected_ == 0) {
    deliver(sink);
    return false;
  }
  if (!ensure_capacity(expected_ ? *expected_ : size_hint_)) {
    abandon(sink, PesError::kOversized);
    return false;
  }
  return true;
}

void PesAssembler::take_payload(std::span<const std::uint8_t> payload, PesSink& sink) {
  if (expected_) {
    // Bytes past the announced length are stuffing the muxer should not have
    // sent; they are ignored.
    const std::size_t n = std::min(payload.size(), *expected_ - fill_);
    std::memcpy(buffer_.data() + fill_, payload.data(), n);
    fill_ += n;
    if (fill_ == *expected_) deliver(sink);  // at once: audio latency depends on it
    return;
  }
  if (payload.empty()) return;
  if (payload.size() > kMaxPayloadSize - fill_) {
    abandon(sink, PesError::kOversized);
    return;
  }
  if (!ensure_capacity(fill_ + payload.size())) {
    abandon(sink, PesError::kOversized);
    return;
  }
  std::memcpy(buffer_.data() + fill_, payload.data(), payload.size());
  fill_ += payload.size();
}

bool PesAssembler::ensure_capacity(std::size_t needed) noexcept {
  if (buffer_ && needed <= buffer_.capacity()) return true;
  std::size_t size = needed;
  if (buffer_) {
    // Doubling keeps the copies of a PES that outgrows its guess to a few.
    size = std::max(needed, std::min(buffer_.capacity() * 2, kMaxPayloadSize));
  }
  try {
    core::Buffer bigger = pool_->acquire_owned(size);
    if (fill_ > 0) std::memcpy(bigger.data(), buffer_.data(), fill_);
    buffer_ = std::move(bigger);
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

void PesAssembler::deliver(PesSink& sink) {
  PesPacket packet;
  packet.pid = pid_;
  packet.stream_type = stream_type_;
  packet.pts = header_.pts;
  packet.dts = header_.dts;
  packet.random_access = random_access_;
  packet.discontinuity = discontinuity_;
  packet.arrival = arrival_;
  if (buffer_) {
    buffer_.resize(fill_);
    packet.payload = core::BufferSlice(std::move(buffer_).share());
  }
  if (!expected_) {
    size_hint_ = std::clamp(fill_ + fill_ / 4, kMinSizeHint, kMaxSizeHint);
  }
  state_ = State::kWaitStart;
  discontinuity_ = false;
  fill_ = 0;
  sink.on_pes_complete(packet);
}

void PesAssembler::abandon(PesSink& sink, PesError error) {
  drop();
  sink.on_pes_error(pid_, error);
}

}  // namespace mirror::ingest
