// Annex B byte streams (ITU-T H.264 / H.265 Annex B): NAL units separated by
// 00 00 01 or 00 00 00 01 start codes, as MPEG-TS and raw .h264/.hevc files
// carry them; and the length-prefixed form (4-byte big-endian sizes) that
// AVCC/HVCC samples and MediaFrame payloads use.
//
// NAL units are returned as spans into the input, without copying. Zero bytes
// before a start code (trailing_zero_8bits, the first byte of a 4-byte start
// code) belong to no NAL unit and are cut off; bytes before the first start
// code are not a NAL unit either.
//
// Threads: the functions are pure. An AnnexBReader or AnnexBSplitter is owned by
// one parser (one per track) and used from one thread at a time.
#pragma once

#include "core/buffer_pool.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mirror::media {

inline constexpr std::size_t kNoStartCode = static_cast<std::size_t>(-1);

// Index of the first 00 00 01 at or after `from`, or kNoStartCode.
std::size_t find_start_code(std::span<const std::uint8_t> data, std::size_t from = 0) noexcept;

// `nal` without its trailing zero bytes.
std::span<const std::uint8_t> trim_trailing_zeros(std::span<const std::uint8_t> nal) noexcept;

// Iterates the NAL units of a complete Annex B buffer. Empty NAL units (two
// start codes in a row) are skipped.
class AnnexBReader {
 public:
  explicit AnnexBReader(std::span<const std::uint8_t> stream) noexcept;
  // The next NAL unit, or nullopt at the end.
  std::optional<std::span<const std::uint8_t>> next() noexcept;

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = kNoStartCode;  // start of the next NAL unit's body
};

template <class F>
void for_each_nal_unit(std::span<const std::uint8_t> stream, F&& on_nal) {
  AnnexBReader reader(stream);
  while (auto nal = reader.next()) on_nal(*nal);
}

// Receives the NAL units an AnnexBSplitter finds.
class NalUnitSink {
 public:
  // `began_in_this_chunk` is false for a NAL unit whose start code came in an
  // earlier push() (its timestamps are those of that earlier chunk).
  virtual void on_nal_unit(std::span<const std::uint8_t> nal, bool began_in_this_chunk) = 0;
  // A NAL unit grew past the splitter's limit and is being skipped.
  virtual void on_oversized_nal_unit(bool /*began_in_this_chunk*/) {}

 protected:
  ~NalUnitSink() = default;
};

// Splits an Annex B stream that arrives in arbitrary chunks (PES payloads). A NAL
// unit is complete when the next start code is seen; NAL units that lie wholly in
// one chunk are handed out as spans into it, only the unfinished tail is copied
// and carried to the next chunk. The carry is bounded: a NAL unit longer than
// `max_nal_size` is dropped (counted) and the splitter waits for the next start code.
class AnnexBSplitter {
 public:
  explicit AnnexBSplitter(std::size_t max_nal_size = 16u << 20) : max_nal_size_(max_nal_size) {}

  // `ends_nal_unit`: the chunk is known to end where a NAL unit ends (a whole
  // PES packet or RTP access unit), so its last NAL unit is handed out at once,
  // from the chunk itself, instead of waiting in the carry for a start code.
  void push(std::span<const std::uint8_t> chunk, NalUnitSink& sink, bool ends_nal_unit = false);
  // Hands out the carried NAL unit (the stream ended, so it is complete).
  void flush(NalUnitSink& sink);
  // Forgets the carried bytes.
  void reset() noexcept;

  // A NAL unit is being carried; `carry_began_in_last_chunk` tells whether its
  // start code was in the most recent push().
  bool carrying() const noexcept { return in_nal_; }
  // The beginning of the NAL unit being carried (empty when none): enough, once
  // a few bytes are in, to tell what kind of NAL unit is coming.
  std::span<const std::uint8_t> carried() const noexcept {
    return in_nal_ ? std::span<const std::uint8_t>(carry_) : std::span<const std::uint8_t>();
  }
  bool carry_began_in_last_chunk() const noexcept { return carry_began_in_last_chunk_; }
  std::uint64_t oversized_nal_units() const noexcept { return oversized_; }

 private:
  void carry(std::span<const std::uint8_t> bytes, bool new_nal, NalUnitSink& sink);

  std::size_t max_nal_size_;
  std::vector<std::uint8_t> carry_;
  // true: carry_ holds the beginning of a NAL unit. false: carry_ holds the last
  // two bytes seen (a start code may straddle chunks), nothing else is kept.
  bool in_nal_ = false;
  bool carry_began_in_last_chunk_ = false;
  std::uint64_t oversized_ = 0;
};

// --- Length-prefixed NAL units -------------------------------------------

// Bytes needed for `nals` with a 4-byte length before each.
std::size_t length_prefixed_size(std::span<const std::span<const std::uint8_t>> nals) noexcept;

// Appends one NAL unit with its 4-byte big-endian length to `out`.
void append_length_prefixed(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> nal);

// A buffer from core::BufferPool::global() holding `nals`, each preceded by its
// 4-byte big-endian length.
core::BufferRef write_length_prefixed(std::span<const std::span<const std::uint8_t>> nals);

// The same for every NAL unit of an Annex B buffer.
core::BufferRef annexb_to_length_prefixed(std::span<const std::uint8_t> annexb);

// Calls on_nal(span) for each NAL unit of a length-prefixed buffer. False (after
// the NAL units before it) when a length runs past the end.
template <class F>
bool for_each_length_prefixed(std::span<const std::uint8_t> data, F&& on_nal) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return false;
    const std::size_t len = (std::size_t{data[pos]} << 24) | (std::size_t{data[pos + 1]} << 16) |
                            (std::size_t{data[pos + 2]} << 8) | std::size_t{data[pos + 3]};
    pos += 4;
    if (len > data.size() - pos) return false;
    on_nal(data.subspan(pos, len));
    pos += len;
  }
  return true;
}

}  // namespace mirror::media
