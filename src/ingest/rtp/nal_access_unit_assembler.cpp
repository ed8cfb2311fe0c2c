#include "ingest/rtp/nal_access_unit_assembler.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mirror::ingest {
namespace {

constexpr std::uint8_t kStartCode[4] = {0, 0, 0, 1};
constexpr std::size_t kInitialCapacity = 64u << 10;

}  // namespace

NalAccessUnitAssembler::NalAccessUnitAssembler(AccessUnitCallback on_access_unit,
                                               std::size_t max_access_unit_size)
    : on_access_unit_(std::move(on_access_unit)),
      max_size_(std::max<std::size_t>(max_access_unit_size, 64)) {}

void NalAccessUnitAssembler::begin_packet(const RtpPacket& packet) {
  if (have_timestamp_ && packet.timestamp != timestamp_) flush();
  // lost() already marked an open unit (its tail may be gone); the unit this
  // packet belongs to may have lost its head, whether it is the same one or
  // a new one.
  if (std::exchange(loss_pending_, false)) incomplete_ = true;
  timestamp_ = packet.timestamp;
  have_timestamp_ = true;
}

void NalAccessUnitAssembler::end_packet(const RtpPacket& packet) {
  if (packet.marker) {
    flush();
    // The next unit starts clean; it takes its timestamp from its first packet.
    have_timestamp_ = false;
  }
}

void NalAccessUnitAssembler::lost() {
  ++stats_.losses;
  if (fragment_active_) drop_fragment();
  // The current unit, if one is open, may have lost its tail.
  if (size_ > 0 || oversize_) incomplete_ = true;
  loss_pending_ = true;
}

void NalAccessUnitAssembler::flush() {
  if (fragment_active_) drop_fragment();
  if (oversize_) {
    ++stats_.oversize_access_units;
  } else if (size_ > 0) {
    ++stats_.access_units;
    if (incomplete_) ++stats_.incomplete_access_units;
    if (on_access_unit_) on_access_unit_({buffer_.data(), size_}, timestamp_, !incomplete_);
  }
  size_ = 0;
  incomplete_ = false;
  oversize_ = false;
}

bool NalAccessUnitAssembler::append(std::span<const std::uint8_t> bytes) {
  if (oversize_) return false;
  if (bytes.size() > max_size_ - size_) {
    // Too large to be a real picture: drop the whole unit rather than hand
    // out a truncated one.
    oversize_ = true;
    fragment_active_ = false;
    size_ = 0;
    return false;
  }
  const std::size_t needed = size_ + bytes.size();
  if (needed > buffer_.size()) {
    std::size_t capacity = std::max(buffer_.size() * 2, kInitialCapacity);
    while (capacity < needed) capacity *= 2;
    capacity = std::min(capacity, max_size_);
    core::Buffer bigger = core::BufferPool::global().acquire_owned(capacity);
    bigger.resize(bigger.capacity());
    if (size_ > 0) std::memcpy(bigger.data(), buffer_.data(), size_);
    buffer_ = std::move(bigger);
  }
  if (!bytes.empty()) std::memcpy(buffer_.data() + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
  return true;
}

void NalAccessUnitAssembler::add_nal(std::span<const std::uint8_t> header,
                                     std::span<const std::uint8_t> body) {
  if (fragment_active_) {
    // A whole NAL unit between fragments: the fragmented one lost its end.
    drop_fragment();
  }
  if (append(kStartCode) && append(header) && append(body)) ++stats_.nal_units;
}

void NalAccessUnitAssembler::fragment_start(std::span<const std::uint8_t> header,
                                            std::span<const std::uint8_t> body,
                                            std::uint16_t sequence) {
  if (fragment_active_) drop_fragment();
  const std::size_t offset = size_;
  if (append(kStartCode) && append(header) && append(body)) {
    fragment_active_ = true;
    fragment_offset_ = offset;
    fragment_sequence_ = sequence;
  }
}

void NalAccessUnitAssembler::fragment_continue(std::span<const std::uint8_t> body,
                                               std::uint16_t sequence, bool end) {
  if (!fragment_active_) {
    // Its start was lost or never sent: nothing to attach it to.
    ++stats_.fragments_dropped;
    incomplete_ = true;
    return;
  }
  if (sequence != static_cast<std::uint16_t>(fragment_sequence_ + 1)) {
    drop_fragment();
    ++stats_.fragments_dropped;  // this piece as well as the dropped head
    return;
  }
  fragment_sequence_ = sequence;
  if (!append(body)) return;
  if (end) {
    fragment_active_ = false;
    ++stats_.nal_units;
  }
}

void NalAccessUnitAssembler::drop_fragment() {
  fragment_active_ = false;
  if (!oversize_) size_ = fragment_offset_;
  ++stats_.fragments_dropped;
  incomplete_ = true;
}

}  // namespace mirror::ingest
