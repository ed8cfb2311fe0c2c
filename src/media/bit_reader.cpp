#include "media/bit_reader.h"

namespace mirror::media {

std::uint32_t BitReader::read_bits(int n) noexcept {
  if (error_) return 0;
  if (n < 0 || n > 32 || static_cast<std::size_t>(n) > data_.size() * 8 - pos_) {
    error_ = true;
    return 0;
  }
  std::uint64_t value = 0;
  int remaining = n;
  while (remaining > 0) {
    const std::size_t byte = pos_ >> 3;
    const int offset = static_cast<int>(pos_ & 7);
    const int available = 8 - offset;
    const int take = remaining < available ? remaining : available;
    const unsigned bits =
        (static_cast<unsigned>(data_[byte]) >> (available - take)) & ((1u << take) - 1);
    value = (value << take) | bits;
    pos_ += static_cast<std::size_t>(take);
    remaining -= take;
  }
  return static_cast<std::uint32_t>(value);
}

bool BitReader::read_bit() noexcept {
  return read_bits(1) != 0;
}

void BitReader::skip_bits(std::size_t n) noexcept {
  if (error_) return;
  const std::size_t left = data_.size() * 8 - pos_;
  if (n > left) {
    pos_ = data_.size() * 8;
    error_ = true;
    return;
  }
  pos_ += n;
}

std::uint32_t BitReader::read_ue() noexcept {
  int leading_zeros = 0;
  while (!error_) {
    if (read_bit()) break;
    if (error_) return 0;
    if (++leading_zeros > 31) {
      error_ = true;
      return 0;
    }
  }
  if (error_) return 0;
  if (leading_zeros == 0) return 0;
  // 2^lz - 1 + bits: at most 2^32 - 2 for 31 leading zeros.
  const std::uint64_t value = ((std::uint64_t{1} << leading_zeros) - 1) + read_bits(leading_zeros);
  if (error_) return 0;
  return static_cast<std::uint32_t>(value);
}

std::int32_t BitReader::read_se() noexcept {
  const std::uint32_t k = read_ue();
  if (error_) return 0;
  // k <= 2^32 - 2, so both results fit in int32.
  if (k & 1) return static_cast<std::int32_t>((k >> 1) + 1);
  return -static_cast<std::int32_t>(k >> 1);
}

void unescape_rbsp(std::span<const std::uint8_t> nal, std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(nal.size());
  int zeros = 0;
  for (const std::uint8_t b : nal) {
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
}

std::size_t unescape_rbsp(std::span<const std::uint8_t> nal, std::span<std::uint8_t> out) noexcept {
  std::size_t written = 0;
  int zeros = 0;
  for (std::size_t i = 0; i < nal.size() && written < out.size(); ++i) {
    const std::uint8_t b = nal[i];
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out[written++] = b;
  }
  return written;
}

}  // namespace mirror::media
