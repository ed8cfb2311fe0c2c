// BoxWriter: appends ISO BMFF boxes to a byte string. A box is opened with its
// four-character type, filled with big-endian fields and closed, which writes
// its size back into the header; boxes nest by opening before closing.
// Used only by the CMAF writer; nothing here allocates beyond the string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mirror::package::cmaf {

class BoxWriter {
 public:
  explicit BoxWriter(std::string& out) : out_(out) {}

  // Returns the offset of the box, to be passed to end().
  std::size_t begin(std::string_view type) {
    const std::size_t at = out_.size();
    u32(0);
    fourcc(type);
    return at;
  }
  // A full box: version and 24 bits of flags after the header.
  std::size_t begin_full(std::string_view type, std::uint8_t version, std::uint32_t flags) {
    const std::size_t at = begin(type);
    u8(version);
    u24(flags);
    return at;
  }
  void end(std::size_t at) { patch_u32(at, static_cast<std::uint32_t>(out_.size() - at)); }

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u24(std::uint32_t v) {
    u8(static_cast<std::uint8_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void zeros(std::size_t n) { out_.append(n, '\0'); }
  void fourcc(std::string_view type) { out_.append(type.substr(0, 4)); }
  void bytes(std::span<const std::uint8_t> data) {
    out_.append(reinterpret_cast<const char*>(data.data()), data.size());
  }

  std::size_t size() const { return out_.size(); }
  void patch_u32(std::size_t at, std::uint32_t v) {
    out_[at] = static_cast<char>(v >> 24);
    out_[at + 1] = static_cast<char>(v >> 16);
    out_[at + 2] = static_cast<char>(v >> 8);
    out_[at + 3] = static_cast<char>(v);
  }

 private:
  std::string& out_;
};

}  // namespace mirror::package::cmaf
