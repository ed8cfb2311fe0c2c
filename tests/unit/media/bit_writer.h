// Test support: writes bit fields and Exp-Golomb codes MSB first, to build
// parameter sets, slice headers and AAC configs field by field, and adds the
// emulation prevention bytes a real encoder would.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mirror::media::testing {

class BitWriter {
 public:
  BitWriter& bits(std::uint64_t value, int n) {
    for (int i = n - 1; i >= 0; --i) bit(((value >> i) & 1) != 0);
    return *this;
  }
  BitWriter& bit(bool b) {
    if (count_ % 8 == 0) bytes_.push_back(0);
    if (b) bytes_.back() |= static_cast<std::uint8_t>(0x80 >> (count_ % 8));
    ++count_;
    return *this;
  }
  BitWriter& ue(std::uint64_t value) {
    const std::uint64_t v = value + 1;
    int len = 0;
    while ((v >> len) > 1) ++len;
    bits(0, len);
    return bits(v, len + 1);
  }
  BitWriter& se(std::int64_t value) {
    return ue(value > 0 ? static_cast<std::uint64_t>(2 * value - 1)
                        : static_cast<std::uint64_t>(-2 * value));
  }
  // rbsp_trailing_bits(): a 1 and zeros up to the byte boundary.
  BitWriter& trailing() {
    bit(true);
    while (count_ % 8 != 0) bit(false);
    return *this;
  }
  BitWriter& align_zero() {
    while (count_ % 8 != 0) bit(false);
    return *this;
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::size_t bit_count() const { return count_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t count_ = 0;
};

// Inserts 0x03 wherever two zero bytes are followed by a byte <= 3.
inline std::vector<std::uint8_t> escape_rbsp(std::span<const std::uint8_t> rbsp) {
  std::vector<std::uint8_t> out;
  int zeros = 0;
  for (const std::uint8_t b : rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push_back(3);
      zeros = 0;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

// A NAL unit: header bytes, then the escaped RBSP.
inline std::vector<std::uint8_t> make_nal(std::vector<std::uint8_t> header,
                                          std::span<const std::uint8_t> rbsp) {
  const auto escaped = escape_rbsp(rbsp);
  header.insert(header.end(), escaped.begin(), escaped.end());
  return header;
}

// An Annex B stream of the given NAL units with 4-byte start codes.
inline std::vector<std::uint8_t> annexb(std::initializer_list<std::vector<std::uint8_t>> nals) {
  std::vector<std::uint8_t> out;
  for (const auto& nal : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

}  // namespace mirror::media::testing
