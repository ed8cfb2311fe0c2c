#include "ingest/rtp/jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace mirror::ingest {
namespace {

std::size_t ring_size_for(std::size_t max_packets) {
  std::size_t size = 16;
  while (size < max_packets && size < (std::size_t{1} << 20)) size <<= 1;
  return size;
}

bool within(std::span<const std::uint8_t> inner, std::span<const std::uint8_t> outer) {
  if (inner.empty()) return true;
  const std::uint8_t* begin = outer.data();
  const std::uint8_t* end = outer.data() + outer.size();
  return inner.data() >= begin && inner.data() <= end &&
         inner.size() <= static_cast<std::size_t>(end - inner.data());
}

}  // namespace

JitterBuffer::JitterBuffer(JitterBufferOptions options) : options_(options) {
  slots_.resize(ring_size_for(options_.max_packets));
  mask_ = slots_.size() - 1;
  // A packet further ahead than the ring could not be placed without
  // overwriting a held one; beyond reset_window it is a new timeline.
  window_ = std::max<std::int64_t>(1, options_.reset_window);
}

JitterBuffer::InsertResult JitterBuffer::insert(core::BufferRef datagram, const RtpPacket& packet,
                                                Clock::time_point now) {
  if (!datagram || !within(packet.payload, datagram.bytes())) {
    ++stats_.rejected;
    return InsertResult::kRejected;
  }
  const std::int64_t sequence = unwrapper_.unwrap(packet.sequence);
  if (!started_) {
    started_ = true;
    next_ = sequence;
    highest_ = sequence;
    clock_origin_ = now;
    timeline_start_ = now;
  }

  const std::int64_t ahead = sequence - next_;
  if (ahead < 0 && !head_known_ && -ahead <= window_ &&
      highest_ - sequence < static_cast<std::int64_t>(slots_.size())) {
    // Nothing of this timeline has left yet: an earlier number that arrives
    // second is the new head, not a late packet.
    next_ = sequence;
  } else if (ahead < 0) {
    const std::int64_t behind = -ahead;
    if (behind <= static_cast<std::int64_t>(slots_.size()) &&
        slot(sequence).released_sequence == sequence) {
      ++stats_.duplicates;
      return InsertResult::kDuplicate;
    }
    if (behind <= window_) {
      ++stats_.late;
      return InsertResult::kLate;
    }
    reset_to(sequence);
    timeline_start_ = now;
  } else if (ahead > window_) {
    reset_to(sequence);
    timeline_start_ = now;
  }

  Slot* target = &slot(sequence);
  if (target->held && target->sequence == sequence) {
    ++stats_.duplicates;
    return InsertResult::kDuplicate;
  }
  // No room: the ring is smaller than the reset window. Drop the oldest held
  // packets until this one has a free slot.
  while (sequence - next_ >= static_cast<std::int64_t>(slots_.size())) drop_head();

  if (sequence < highest_) {
    ++stats_.reordered;
  } else {
    highest_ = sequence;
  }
  update_jitter(packet.timestamp, now);

  target->datagram = std::move(datagram);
  target->packet = packet;
  target->arrival = now;
  target->sequence = sequence;
  target->held = true;
  ++held_;
  ++stats_.received;
  stats_.held = held_;
  if (first_held_ && sequence < *first_held_) first_held_ = sequence;
  return InsertResult::kStored;
}

void JitterBuffer::reset_to(std::int64_t sequence) {
  ++stats_.resets;
  // What was waiting is still good media from before the break: hand it out
  // (gaps skipped), bounded by the ring size if nobody pops.
  while (held_ > 0) {
    const std::int64_t first = first_held();
    const auto skipped = static_cast<std::uint64_t>(first - next_);
    stats_.lost += skipped;
    pending_lost_ += skipped;
    next_ = first;
    if (flushed_.size() >= slots_.size()) {
      drop_head();
      continue;
    }
    release_head(flushed_);
  }
  next_ = sequence;
  highest_ = sequence;
  head_known_ = false;
  pending_lost_ = 0;
  pending_discontinuity_ = true;
  have_transit_ = false;
  first_held_.reset();
}

void JitterBuffer::release_head(std::vector<ReleasedPacket>& out) {
  Slot& s = slot(next_);
  ReleasedPacket released;
  released.datagram = std::move(s.datagram);
  released.packet = s.packet;
  released.extended_sequence = next_;
  released.lost_before = std::exchange(pending_lost_, 0);
  released.discontinuity = std::exchange(pending_discontinuity_, false);
  out.push_back(std::move(released));
  s.held = false;
  s.released_sequence = next_;
  s.packet = RtpPacket{};
  --held_;
  ++stats_.released;
  stats_.held = held_;
  if (first_held_ && *first_held_ == next_) first_held_.reset();
  ++next_;
}

void JitterBuffer::drop_head() {
  Slot& s = slot(next_);
  if (s.held && s.sequence == next_) {
    s.datagram.reset();
    s.packet = RtpPacket{};
    s.held = false;
    s.released_sequence = next_;
    --held_;
    ++stats_.overflow_dropped;
    stats_.held = held_;
    if (first_held_ && *first_held_ == next_) first_held_.reset();
  } else {
    ++stats_.lost;
  }
  // The consumer sees a hole either way.
  ++pending_lost_;
  ++next_;
}

std::int64_t JitterBuffer::first_held() {
  if (!first_held_) {
    // Amortised: next_ only moves forward and the cache lives until the
    // packet it names leaves.
    std::int64_t s = next_;
    while (s <= highest_ && !(slot(s).held && slot(s).sequence == s)) ++s;
    first_held_ = s;
  }
  return *first_held_;
}

void JitterBuffer::pop_ready(Clock::time_point now, std::vector<ReleasedPacket>& out) {
  release(now, false, out);
}

void JitterBuffer::release(Clock::time_point now, bool force, std::vector<ReleasedPacket>& out) {
  if (!flushed_.empty()) {
    for (auto& r : flushed_) out.push_back(std::move(r));
    flushed_.clear();
  }
  while (held_ > 0) {
    if (!head_known_) {
      // The first packet of a timeline waits `delay` for earlier-numbered
      // ones that were overtaken on the way.
      if (!force && !waited(timeline_start_, now)) break;
      head_known_ = true;
    }
    const Slot& head = slot(next_);
    if (head.held && head.sequence == next_) {
      release_head(out);
      continue;
    }
    const std::int64_t first = first_held();
    if (!force && !waited(slot(first).arrival, now)) break;
    const auto skipped = static_cast<std::uint64_t>(first - next_);
    stats_.lost += skipped;
    pending_lost_ += skipped;
    next_ = first;
  }
}

bool JitterBuffer::waited(Clock::time_point arrival, Clock::time_point now) const {
  return now >= arrival && now - arrival >= options_.delay;
}

std::vector<ReleasedPacket> JitterBuffer::pop_ready(Clock::time_point now) {
  std::vector<ReleasedPacket> out;
  pop_ready(now, out);
  return out;
}

void JitterBuffer::flush(std::vector<ReleasedPacket>& out) {
  release(Clock::time_point{}, true, out);
}

std::optional<JitterBuffer::Clock::time_point> JitterBuffer::next_deadline() {
  if (!flushed_.empty()) return Clock::time_point::min();
  if (held_ == 0) return std::nullopt;
  const Slot& head = slot(next_);
  if (!head_known_) return timeline_start_ + options_.delay;
  if (head.held && head.sequence == next_) return Clock::time_point::min();
  return slot(first_held()).arrival + options_.delay;
}

void JitterBuffer::update_jitter(std::uint32_t rtp_timestamp, Clock::time_point now) {
  if (options_.clock_rate == 0) return;
  // Arrival time on the payload's clock, from the first packet on, split to
  // keep the multiplication inside 64 bits for any session length.
  // Only the low 32 bits matter (RTP timestamps wrap), so the arithmetic is
  // modular and cannot overflow whatever times the caller passes.
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - clock_origin_).count();
  const std::int64_t seconds = elapsed / 1000000000;
  const std::int64_t rest = elapsed % 1000000000;  // |rest| < 1e9: rest * rate fits
  const std::uint64_t units =
      static_cast<std::uint64_t>(seconds) * options_.clock_rate +
      static_cast<std::uint64_t>(rest * static_cast<std::int64_t>(options_.clock_rate) /
                                 1000000000);
  const std::uint32_t transit = static_cast<std::uint32_t>(units) - rtp_timestamp;
  if (have_transit_) {
    const auto d = static_cast<std::int32_t>(transit - last_transit_);
    stats_.jitter += (std::abs(static_cast<double>(d)) - stats_.jitter) / 16.0;
  }
  last_transit_ = transit;
  have_transit_ = true;
}

}  // namespace mirror::ingest
