// SharedBytes: a read-only byte range that keeps its storage alive, so that the
// same bytes (a part of a live stream, a cached playlist) can be handed to many
// readers, queued on many sockets, without a copy. The storage is a pooled
// buffer (media payloads) or a heap string (boxes, playlists, compacted
// segments). Copying a SharedBytes costs one reference count.
#pragma once

#include "core/buffer_pool.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace mirror::core {

class SharedBytes {
 public:
  SharedBytes() = default;

  // The whole buffer, or `length` bytes from `offset` (clamped to its size).
  explicit SharedBytes(BufferRef buffer) : SharedBytes(std::move(buffer), 0, SIZE_MAX) {}
  SharedBytes(BufferRef buffer, std::size_t offset, std::size_t length) : buffer_(std::move(buffer)) {
    clamp(buffer_.data(), buffer_.size(), offset, length);
  }
  explicit SharedBytes(std::shared_ptr<const std::string> text)
      : SharedBytes(std::move(text), 0, SIZE_MAX) {}
  SharedBytes(std::shared_ptr<const std::string> text, std::size_t offset, std::size_t length)
      : text_(std::move(text)) {
    if (text_) clamp(reinterpret_cast<const std::uint8_t*>(text_->data()), text_->size(), offset, length);
  }
  // Takes the string over.
  static SharedBytes from_string(std::string text) {
    return SharedBytes(std::make_shared<const std::string>(std::move(text)));
  }

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  // A narrower range of the same storage.
  SharedBytes slice(std::size_t offset, std::size_t length = SIZE_MAX) const {
    SharedBytes out = *this;
    out.data_ = nullptr;
    out.size_ = 0;
    out.clamp(data_, size_, offset, length);
    return out;
  }

 private:
  void clamp(const std::uint8_t* base, std::size_t size, std::size_t offset, std::size_t length) {
    if (base == nullptr) return;
    offset = offset < size ? offset : size;
    data_ = base + offset;
    size_ = length < size - offset ? length : size - offset;
  }

  BufferRef buffer_;
  std::shared_ptr<const std::string> text_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mirror::core
