#include "media/annexb.h"

#include <cstring>

namespace mirror::media {

std::size_t find_start_code(std::span<const std::uint8_t> data, std::size_t from) noexcept {
  const std::size_t n = data.size();
  // Looks for the 0x01 of a start code with memchr (vectorised in libc): in
  // compressed slice data a 0x01 byte comes about once every 256 bytes, so this
  // skips most of a slice in wide steps instead of touching every byte.
  std::size_t i = from + 2;
  while (i < n) {
    const void* hit = std::memchr(data.data() + i, 1, n - i);
    if (hit == nullptr) break;
    const std::size_t one = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - data.data());
    if (data[one - 1] == 0 && data[one - 2] == 0) return one - 2;
    i = one + 1;
  }
  return kNoStartCode;
}

std::span<const std::uint8_t> trim_trailing_zeros(std::span<const std::uint8_t> nal) noexcept {
  std::size_t n = nal.size();
  while (n > 0 && nal[n - 1] == 0) --n;
  return nal.first(n);
}

AnnexBReader::AnnexBReader(std::span<const std::uint8_t> stream) noexcept : data_(stream) {
  const std::size_t sc = find_start_code(data_, 0);
  pos_ = sc == kNoStartCode ? kNoStartCode : sc + 3;
}

std::optional<std::span<const std::uint8_t>> AnnexBReader::next() noexcept {
  while (pos_ != kNoStartCode) {
    const std::size_t sc = find_start_code(data_, pos_);
    const std::size_t end = sc == kNoStartCode ? data_.size() : sc;
    const auto nal = trim_trailing_zeros(data_.subspan(pos_, end - pos_));
    pos_ = sc == kNoStartCode ? kNoStartCode : sc + 3;
    if (!nal.empty()) return nal;
  }
  return std::nullopt;
}

void AnnexBSplitter::carry(std::span<const std::uint8_t> bytes, bool new_nal, NalUnitSink& sink) {
  if (new_nal) {
    carry_.clear();
    in_nal_ = true;
  }
  if (in_nal_) {
    if (carry_.size() + bytes.size() <= max_nal_size_) {
      carry_.insert(carry_.end(), bytes.begin(), bytes.end());
      return;
    }
    // Too long to be a NAL unit worth keeping: drop it, skip to the next start code.
    ++oversized_;
    in_nal_ = false;
    sink.on_oversized_nal_unit(new_nal);
  }
  // Outside a NAL unit only the last two bytes matter: a start code may begin there.
  std::uint8_t tail[4];
  std::size_t n = 0;
  const std::size_t keep_old =
      bytes.size() >= 2 ? 0 : (carry_.size() < 2 - bytes.size() ? carry_.size() : 2 - bytes.size());
  for (std::size_t i = carry_.size() - keep_old; i < carry_.size(); ++i) tail[n++] = carry_[i];
  const std::size_t keep_new = bytes.size() < 2 ? bytes.size() : 2;
  for (std::size_t i = bytes.size() - keep_new; i < bytes.size(); ++i) tail[n++] = bytes[i];
  carry_.assign(tail, tail + n);
}

void AnnexBSplitter::push(std::span<const std::uint8_t> chunk, NalUnitSink& sink,
                          bool ends_nal_unit) {
  carry_began_in_last_chunk_ = false;
  if (chunk.empty()) {
    if (ends_nal_unit) flush(sink);
    return;
  }

  // 1. Where does the NAL unit in progress (or the run of skipped bytes) end? Its
  //    start code may straddle the previous chunk and this one.
  const std::size_t n = carry_.size();
  std::size_t end = 0;   // chunk bytes [0, end) continue the carried NAL unit
  std::size_t body = 0;  // where the next NAL unit's body starts
  if (n >= 2 && carry_[n - 2] == 0 && carry_[n - 1] == 0 && chunk[0] == 1) {
    body = 1;
  } else if (n >= 1 && carry_[n - 1] == 0 && chunk.size() >= 2 && chunk[0] == 0 && chunk[1] == 1) {
    body = 2;
  } else {
    const std::size_t sc = find_start_code(chunk, 0);
    if (sc == kNoStartCode) {
      carry(chunk, false, sink);
      if (ends_nal_unit) flush(sink);
      return;
    }
    end = sc;
    body = sc + 3;
  }
  if (in_nal_) {
    carry(chunk.first(end), false, sink);
    if (in_nal_) {
      const auto nal = trim_trailing_zeros(carry_);
      if (!nal.empty()) sink.on_nal_unit(nal, false);
    }
  }
  carry_.clear();
  in_nal_ = false;

  // 2. NAL units wholly inside this chunk: spans into it, no copy.
  std::size_t pos = body;
  for (;;) {
    const std::size_t sc = find_start_code(chunk, pos);
    if (sc == kNoStartCode) break;
    const auto nal = trim_trailing_zeros(chunk.subspan(pos, sc - pos));
    if (!nal.empty()) sink.on_nal_unit(nal, true);
    pos = sc + 3;
  }

  // 3. The last NAL unit is unfinished until the next start code arrives,
  //    unless the caller knows the chunk ends it.
  if (ends_nal_unit) {
    const auto nal = trim_trailing_zeros(chunk.subspan(pos));
    if (!nal.empty()) sink.on_nal_unit(nal, true);
    return;
  }
  carry(chunk.subspan(pos), true, sink);
  carry_began_in_last_chunk_ = in_nal_;
}

void AnnexBSplitter::flush(NalUnitSink& sink) {
  if (in_nal_) {
    const auto nal = trim_trailing_zeros(carry_);
    if (!nal.empty()) sink.on_nal_unit(nal, false);
  }
  reset();
}

void AnnexBSplitter::reset() noexcept {
  carry_.clear();
  in_nal_ = false;
  carry_began_in_last_chunk_ = false;
}

std::size_t length_prefixed_size(std::span<const std::span<const std::uint8_t>> nals) noexcept {
  std::size_t total = 0;
  for (const auto& nal : nals) total += 4 + nal.size();
  return total;
}

namespace {

std::uint8_t* put_length_prefixed(std::uint8_t* out, std::span<const std::uint8_t> nal) {
  const auto len = static_cast<std::uint32_t>(nal.size());
  out[0] = static_cast<std::uint8_t>(len >> 24);
  out[1] = static_cast<std::uint8_t>(len >> 16);
  out[2] = static_cast<std::uint8_t>(len >> 8);
  out[3] = static_cast<std::uint8_t>(len);
  if (!nal.empty()) std::memcpy(out + 4, nal.data(), nal.size());
  return out + 4 + nal.size();
}

}  // namespace

void append_length_prefixed(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> nal) {
  const std::size_t old = out.size();
  out.resize(old + 4 + nal.size());
  put_length_prefixed(out.data() + old, nal);
}

core::BufferRef write_length_prefixed(std::span<const std::span<const std::uint8_t>> nals) {
  core::Buffer buffer = core::BufferPool::global().acquire_owned(length_prefixed_size(nals));
  std::uint8_t* out = buffer.data();
  for (const auto& nal : nals) out = put_length_prefixed(out, nal);
  return std::move(buffer).share();
}

core::BufferRef annexb_to_length_prefixed(std::span<const std::uint8_t> annexb) {
  std::size_t total = 0;
  for_each_nal_unit(annexb, [&](std::span<const std::uint8_t> nal) { total += 4 + nal.size(); });
  core::Buffer buffer = core::BufferPool::global().acquire_owned(total);
  std::uint8_t* out = buffer.data();
  for_each_nal_unit(
      annexb, [&](std::span<const std::uint8_t> nal) { out = put_length_prefixed(out, nal); });
  return std::move(buffer).share();
}

}  // namespace mirror::media
