#include "media/timestamp.h"

namespace mirror::media {

TimestampUnwrapper::TimestampUnwrapper(int bits) noexcept {
  bits_ = bits < 1 ? 1 : (bits > 62 ? 62 : bits);
  range_ = std::int64_t{1} << bits_;
  mask_ = static_cast<std::uint64_t>(range_) - 1;
}

std::int64_t TimestampUnwrapper::unwrap(std::uint64_t wrapped) noexcept {
  const auto value = static_cast<std::int64_t>(wrapped & mask_);
  if (!has_last_) {
    has_last_ = true;
    last_ = value;
    return value;
  }
  // last_ modulo the range, always in [0, range).
  const std::int64_t last_wrapped = last_ & static_cast<std::int64_t>(mask_);
  std::int64_t delta = value - last_wrapped;
  const std::int64_t half = range_ / 2;
  if (delta > half) {
    delta -= range_;
  } else if (delta < -half) {
    delta += range_;
  }
  last_ += delta;
  return last_;
}

}  // namespace mirror::media
