#include "media/aac_framer.h"

#include <cstring>

#include <algorithm>
#include <memory>

namespace mirror::media {

namespace {

constexpr std::int64_t kRoundingToleranceSamples = 2;

// A possible ADTS sync word at data[pos]: 0xFFF followed by layer 00. With only
// one byte left, 0xFF is enough to keep it.
bool sync_at(std::span<const std::uint8_t> data, std::size_t pos) {
  if (data[pos] != 0xff) return false;
  return pos + 1 >= data.size() || (data[pos + 1] & 0xf6) == 0xf0;
}

}  // namespace

std::int64_t rescale_from_90k(std::int64_t ts_90k, int rate) noexcept {
  const __int128 scaled = static_cast<__int128>(ts_90k) * rate + 45000;
  __int128 q = scaled / 90000;
  if (scaled % 90000 != 0 && scaled < 0) --q;  // floor, not truncation
  return static_cast<std::int64_t>(q);
}

AacFramer::AacFramer(FrameCallback on_frame, std::uint32_t track)
    : on_frame_(std::move(on_frame)), track_(track) {
  carry_.reserve(kAdtsMaxFrameLength);
}

void AacFramer::push(std::span<const std::uint8_t> adts, std::int64_t pts_90k,
                     std::chrono::system_clock::time_point arrival) {
  push_pts_90k_ = pts_90k;
  push_pts_used_ = pts_90k == kNoTimestamp;
  push_arrival_ = arrival;
  std::size_t pos = 0;
  if (!carry_.empty() && !finish_carry(adts, pos)) return;

  const std::size_t tail = frame_in_place(adts, pos);
  if (tail < adts.size()) {
    carry_.assign(adts.begin() + static_cast<std::ptrdiff_t>(tail), adts.end());
    carry_arrival_ = arrival;
    // The PES timestamp belongs to the first frame that starts in it: this one,
    // when no other frame started here.
    carry_pts_90k_ = push_pts_used_ ? kNoTimestamp : push_pts_90k_;
    push_pts_used_ = true;
  }
}

bool AacFramer::finish_carry(std::span<const std::uint8_t> adts, std::size_t& pos) {
  // Appends what the carried frame still lacks of `want` bytes; true once it has them.
  auto take = [&](std::size_t want) {
    const std::size_t missing = want - std::min(want, carry_.size());
    const std::size_t n = std::min(missing, adts.size() - pos);
    if (n > 0) {
      // resize + memcpy rather than insert: GCC 12 at -O3 reports a false
      // stringop-overflow in vector::insert here.
      const std::size_t old = carry_.size();
      carry_.resize(old + n);
      std::memcpy(carry_.data() + old, adts.data() + pos, n);
    }
    pos += n;
    return carry_.size() >= want;
  };
  // Not a header after all: gives back what came from this chunk and skips to
  // the next sync word in the rest, exactly as if all had come in one piece.
  auto reject = [&] {
    carry_.resize(carry_.size() - pos);
    pos = 0;
    std::size_t next = 1;
    while (next < carry_.size() && !sync_at(carry_, next)) ++next;
    lost_sync(next);
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(next));
  };
  while (!carry_.empty()) {
    if (!take(2)) return false;
    if (!sync_at(carry_, 0)) {
      reject();
      continue;
    }
    if (!take(7)) return false;
    if ((carry_[1] & 0x01) == 0 && !take(9)) return false;  // CRC present
    const auto header = read_adts_header(carry_);
    if (!header) {
      reject();
      continue;
    }
    const auto frame_length = static_cast<std::size_t>(header->frame_length);
    if (!take(frame_length)) return false;
    emit(*header, std::span(carry_).first(frame_length), carry_pts_90k_, carry_arrival_);
    // Whatever follows (only after a rejected header) is framed like the rest.
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(frame_length));
    carry_pts_90k_ = kNoTimestamp;
  }
  return true;
}

std::size_t AacFramer::frame_in_place(std::span<const std::uint8_t> data, std::size_t pos) {
  while (pos < data.size()) {
    if (!sync_at(data, pos)) {
      std::size_t next = pos + 1;
      while (next < data.size() && !sync_at(data, next)) ++next;
      lost_sync(next - pos);
      pos = next;
      continue;
    }
    const std::size_t remaining = data.size() - pos;
    if (remaining < 2) return pos;
    const std::size_t header_length = (data[pos + 1] & 0x01) ? 7 : 9;
    if (remaining < header_length) return pos;
    const auto header = read_adts_header(data.subspan(pos));
    if (!header) {
      lost_sync(1);
      ++pos;
      continue;
    }
    const auto frame_length = static_cast<std::size_t>(header->frame_length);
    if (frame_length > remaining) return pos;
    std::int64_t pts = kNoTimestamp;
    if (!push_pts_used_) {
      pts = push_pts_90k_;
      push_pts_used_ = true;
    }
    emit(*header, data.subspan(pos, frame_length), pts, push_arrival_);
    pos += frame_length;
  }
  return pos;
}

void AacFramer::lost_sync(std::size_t skipped) {
  if (skipped == 0) return;
  counters_.skipped_bytes += skipped;
  if (in_sync_) ++counters_.sync_errors;
  in_sync_ = false;
}

void AacFramer::emit(const AdtsHeader& header, std::span<const std::uint8_t> frame,
                     std::int64_t pes_pts_90k, std::chrono::system_clock::time_point arrival) {
  in_sync_ = true;
  const bool changed = !config_ || header.object_type != object_type_ ||
                       header.sample_rate_index != sample_rate_index_ ||
                       header.channel_config != channel_config_;
  if (changed) {
    auto asc = build_audio_specific_config(header.object_type, header.sample_rate_index,
                                           header.channel_config);
    auto config = std::make_shared<CodecConfig>();
    config->codec = Codec::kAac;
    config->kind = TrackKind::kAudio;
    config->timescale = static_cast<std::uint32_t>(header.sample_rate);
    config->codec_string = mp4a_codec_string(header.object_type);
    if (asc) config->audio_specific_config = std::move(asc.value());
    config->sample_rate = header.sample_rate;
    config->channels = aac_channel_count(header.channel_config);
    config->audio_object_type = header.object_type;
    config->samples_per_frame = kSamplesPerFrame;
    if (config_) {
      ++counters_.config_changes;
      // Keep the timeline continuous across a sample rate change.
      if (has_next_pts_ && config_->sample_rate != header.sample_rate) {
        next_pts_ = static_cast<std::int64_t>(static_cast<__int128>(next_pts_) *
                                              header.sample_rate / config_->sample_rate);
      }
    }
    config_ = std::move(config);
    object_type_ = header.object_type;
    sample_rate_index_ = header.sample_rate_index;
    channel_config_ = header.channel_config;
  }

  const int blocks = header.number_of_raw_data_blocks + 1;
  std::int64_t pts = has_next_pts_ ? next_pts_ : 0;
  if (pes_pts_90k != kNoTimestamp) {
    const std::int64_t converted = rescale_from_90k(pes_pts_90k, header.sample_rate);
    const std::int64_t drift = converted - pts;
    if (!has_next_pts_ || drift > kRoundingToleranceSamples || drift < -kRoundingToleranceSamples) {
      pts = converted;
    }
  }
  has_next_pts_ = true;
  next_pts_ = pts + static_cast<std::int64_t>(blocks) * kSamplesPerFrame;
  if (blocks > 1) {
    ++counters_.dropped_frames;
    return;
  }

  MediaFrame out;
  out.track = track_;
  out.kind = TrackKind::kAudio;
  out.codec = Codec::kAac;
  out.pts = pts;
  out.dts = pts;
  out.duration = kSamplesPerFrame;
  out.keyframe = true;
  out.config_changed = changed;
  out.config = config_;
  out.arrival = arrival;
  out.payload = core::BufferPool::global().copy_of(
      frame.subspan(static_cast<std::size_t>(header.header_length)));
  ++counters_.frames;
  on_frame_(std::move(out));
}

void AacFramer::flush() {
  if (!carry_.empty()) {
    ++counters_.dropped_frames;
    carry_.clear();
  }
}

void AacFramer::reset() {
  flush();
  has_next_pts_ = false;
  in_sync_ = true;
  push_pts_used_ = true;
}

}  // namespace mirror::media
