#include "ingest/mpegts/section_assembler.h"

#include <algorithm>
#include <cstring>

namespace mirror::ingest {

namespace {
constexpr std::uint8_t kStuffing = 0xFF;
constexpr std::size_t kHeaderSize = 3;  // table_id, flags + section_length
constexpr std::size_t kCrcSize = 4;
}  // namespace

void SectionAssembler::push(std::span<const std::uint8_t> payload, bool unit_start,
                            SectionSink& sink) {
  std::size_t consumed = 0;
  if (!unit_start) {
    // Without a section in progress the bytes belong to one we never saw start.
    if (!active_) return;
    switch (append(payload, consumed)) {
      case Progress::kNeedMore:
        break;
      case Progress::kComplete:
        finish(sink);
        break;
      case Progress::kError:
        reset();
        sink.on_section_error(pid_);
        break;
    }
    // A new section cannot start in a packet without payload_unit_start: what
    // follows a completed section here is stuffing.
    return;
  }

  if (payload.empty()) {
    reset();
    sink.on_section_error(pid_);
    return;
  }
  const std::size_t pointer = payload[0];
  std::span<const std::uint8_t> rest = payload.subspan(1);
  if (pointer > rest.size()) {
    reset();
    sink.on_section_error(pid_);
    return;
  }
  if (active_) {
    // The bytes before the pointed-to position finish the previous section; if
    // they do not, it was cut short.
    if (append(rest.first(pointer), consumed) == Progress::kComplete) {
      finish(sink);
    } else {
      reset();
      sink.on_section_error(pid_);
    }
  }
  reset();
  rest = rest.subspan(pointer);
  while (!rest.empty() && rest[0] != kStuffing) {
    active_ = true;
    length_ = 0;
    switch (append(rest, consumed)) {
      case Progress::kNeedMore:
        return;  // continues in the next packet
      case Progress::kError:
        reset();
        sink.on_section_error(pid_);
        return;
      case Progress::kComplete:
        finish(sink);
        rest = rest.subspan(consumed);
        break;
    }
  }
}

SectionAssembler::Progress SectionAssembler::append(std::span<const std::uint8_t> bytes,
                                                    std::size_t& consumed) {
  consumed = 0;
  while (length_ < kHeaderSize && consumed < bytes.size()) {
    buffer_[length_++] = bytes[consumed++];
  }
  if (length_ < kHeaderSize) return Progress::kNeedMore;
  const std::size_t section_length =
      static_cast<std::size_t>((buffer_[1] & 0x0F) << 8) | buffer_[2];
  if (section_length > kMaxPsiSectionLength) return Progress::kError;
  const std::size_t total = kHeaderSize + section_length;
  const std::size_t n = std::min(total - length_, bytes.size() - consumed);
  std::memcpy(buffer_.data() + length_, bytes.data() + consumed, n);
  length_ += n;
  consumed += n;
  return length_ == total ? Progress::kComplete : Progress::kNeedMore;
}

void SectionAssembler::finish(SectionSink& sink) {
  const std::span<const std::uint8_t> section(buffer_.data(), length_);
  active_ = false;
  length_ = 0;
  const bool long_form = (section[1] & 0x80) != 0;
  if (long_form && (section.size() < kHeaderSize + kCrcSize || crc32_mpeg2(section) != 0)) {
    sink.on_section_error(pid_);
    return;
  }
  sink.on_section(pid_, section);
}

}  // namespace mirror::ingest
