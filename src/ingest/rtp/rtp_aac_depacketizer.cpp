#include "ingest/rtp/rtp_aac_depacketizer.h"

#include <cstring>
#include <utility>

namespace mirror::ingest {
namespace {

// Reads big-endian bit fields; the caller checks there are enough bits.
class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::uint32_t read(int bits) noexcept {
    std::uint32_t value = 0;
    for (int i = 0; i < bits; ++i) {
      const std::uint8_t byte = bytes_[position_ >> 3];
      value = (value << 1) | ((byte >> (7 - (position_ & 7))) & 1u);
      ++position_;
    }
    return value;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

}  // namespace

RtpAacDepacketizer::RtpAacDepacketizer(AacRtpParameters parameters, AacFrameCallback on_frame)
    : parameters_(std::move(parameters)), on_frame_(std::move(on_frame)) {
  // Guard against parameters built by hand rather than aac_rtp_parameters().
  if (parameters_.size_length < 1 || parameters_.size_length > 16) parameters_.size_length = 13;
  if (parameters_.index_length < 0 || parameters_.index_length > 8) parameters_.index_length = 3;
  if (parameters_.index_delta_length < 0 || parameters_.index_delta_length > 8) {
    parameters_.index_delta_length = 3;
  }
  if (parameters_.samples_per_frame <= 0) parameters_.samples_per_frame = 1024;
}

void RtpAacDepacketizer::lost() {
  ++stats_.losses;
  if (fragment_active_) drop_fragment();
}

void RtpAacDepacketizer::drop_fragment() {
  fragment_active_ = false;
  ++stats_.fragments_dropped;
}

void RtpAacDepacketizer::emit(std::span<const std::uint8_t> frame, std::uint32_t timestamp) {
  if (frame.empty()) return;
  ++stats_.frames;
  if (on_frame_) on_frame_(frame, timestamp);
}

void RtpAacDepacketizer::push(const RtpPacket& packet, bool after_loss) {
  ++stats_.packets;
  if (after_loss) lost();
  const auto payload = packet.payload;
  if (payload.empty()) {
    ++stats_.empty_packets;
    return;
  }
  if (payload.size() < 2) {
    ++stats_.malformed_packets;
    return;
  }
  const std::size_t header_bits = (std::size_t{payload[0]} << 8) | payload[1];
  const std::size_t header_bytes = (header_bits + 7) / 8;
  const std::size_t first_bits =
      static_cast<std::size_t>(parameters_.size_length + parameters_.index_length);
  const std::size_t next_bits =
      static_cast<std::size_t>(parameters_.size_length + parameters_.index_delta_length);
  // The headers must fit the packet and be a whole number of AU headers.
  if (header_bytes > payload.size() - 2 || header_bits < first_bits ||
      (header_bits - first_bits) % next_bits != 0) {
    ++stats_.malformed_packets;
    if (fragment_active_) drop_fragment();
    return;
  }
  const std::size_t count = 1 + (header_bits - first_bits) / next_bits;
  const auto headers = payload.subspan(2, header_bytes);
  const auto data = payload.subspan(2 + header_bytes);

  // First pass: sizes against the data, before anything is emitted.
  BitReader reader(headers);
  std::size_t total = 0;
  std::size_t first_size = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size = reader.read(parameters_.size_length);
    reader.read(i == 0 ? parameters_.index_length : parameters_.index_delta_length);
    if (i == 0) first_size = size;
    total += size;
  }
  if (count == 1 && first_size > data.size()) {
    push_fragment(packet, first_size, data);
    return;
  }
  if (fragment_active_) drop_fragment();  // the rest of that AU never came
  if (total > data.size()) {
    ++stats_.malformed_packets;
    return;
  }

  BitReader emit_reader(headers);
  std::size_t offset = 0;
  std::uint32_t timestamp = packet.timestamp;
  const auto frame_ticks = static_cast<std::uint32_t>(parameters_.samples_per_frame);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size = emit_reader.read(parameters_.size_length);
    const std::uint32_t index =
        emit_reader.read(i == 0 ? parameters_.index_length : parameters_.index_delta_length);
    if (i > 0) timestamp += frame_ticks * (index + 1);  // modular, like RTP time
    emit(data.subspan(offset, size), timestamp);
    offset += size;
  }
}

void RtpAacDepacketizer::push_fragment(const RtpPacket& packet, std::size_t au_size,
                                       std::span<const std::uint8_t> data) {
  const bool continues = fragment_active_ && packet.timestamp == fragment_timestamp_ &&
                         packet.sequence == static_cast<std::uint16_t>(fragment_sequence_ + 1) &&
                         au_size == fragment_size_;
  if (fragment_active_ && !continues) drop_fragment();
  if (data.empty() || (continues && data.size() > fragment_size_ - fragment_filled_)) {
    ++stats_.malformed_packets;
    if (fragment_active_) drop_fragment();
    return;
  }
  if (!continues) {
    if (!fragment_) {
      fragment_ = core::BufferPool::global().acquire_owned(std::size_t{1} << 16);
      fragment_.resize(fragment_.capacity());
    }
    fragment_active_ = true;
    fragment_size_ = au_size;
    fragment_filled_ = 0;
    fragment_timestamp_ = packet.timestamp;
  }
  std::memcpy(fragment_.data() + fragment_filled_, data.data(), data.size());
  fragment_filled_ += data.size();
  fragment_sequence_ = packet.sequence;
  if (fragment_filled_ == fragment_size_) {
    fragment_active_ = false;
    ++stats_.reassembled_frames;
    emit({fragment_.data(), fragment_size_}, fragment_timestamp_);
  } else if (packet.marker) {
    // The last fragment came and the AU is still short.
    ++stats_.malformed_packets;
    drop_fragment();
  }
}

}  // namespace mirror::ingest
