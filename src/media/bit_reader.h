// BitReader: an MSB-first reader of the bit fields and Exp-Golomb codes that
// H.264, HEVC and AAC headers are made of, plus the removal of emulation
// prevention bytes that turns a NAL unit payload back into its RBSP.
//
// A BitReader never reads past its span and never throws: reading beyond the
// end, or an Exp-Golomb code longer than 32 bits, sets a sticky error flag and
// yields zeros from then on, so a parser can read a whole structure and check
// error() once where that is simpler than checking every field.
//
// Threads: a BitReader is a small value owned by the parser using it; it is not
// shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mirror::media {

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  // The next n bits (0 <= n <= 32) as an unsigned number, first bit most
  // significant. 0 and error() when n is out of range or fewer bits are left.
  std::uint32_t read_bits(int n) noexcept;
  // One bit; false and error() at the end.
  bool read_bit() noexcept;
  // Skips n bits; error() and position at the end when fewer are left.
  void skip_bits(std::size_t n) noexcept;
  // ue(v): unsigned Exp-Golomb. More than 31 leading zero bits is an error (the
  // value would not fit in 32 bits), as is running out of bits.
  std::uint32_t read_ue() noexcept;
  // se(v): signed Exp-Golomb, mapped from ue(v) as 1, -1, 2, -2, ...
  std::int32_t read_se() noexcept;

  std::size_t bits_left() const noexcept { return error_ ? 0 : data_.size() * 8 - pos_; }
  std::size_t position() const noexcept { return pos_; }  // in bits from the start
  bool byte_aligned() const noexcept { return (pos_ & 7) == 0; }
  bool error() const noexcept { return error_; }
  // Marks the data as invalid (a parser found a value out of range).
  void set_error() noexcept { error_ = true; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool error_ = false;
};

// Copies `nal` to `out` without its emulation prevention bytes: every 0x03
// that follows two zero bytes is dropped. `out` is cleared first; its capacity
// is reused, so a caller that keeps the vector does not allocate per call.
void unescape_rbsp(std::span<const std::uint8_t> nal, std::vector<std::uint8_t>& out);

// The same into a fixed buffer, for parsers that need only the first bytes of a
// NAL unit (a slice header): stops when `out` is full. Returns the bytes written.
std::size_t unescape_rbsp(std::span<const std::uint8_t> nal, std::span<std::uint8_t> out) noexcept;

}  // namespace mirror::media
