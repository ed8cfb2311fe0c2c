// Whether a coded picture is a reference for others, read from the NAL unit
// header of its first slice: H.264 nal_ref_idc, HEVC sub-layer non-reference
// NAL unit types. A picture nothing refers to can be left undecoded when its
// output is not wanted (a frame-rate cap), at no cost to any other picture.
//
// Threads: pure functions, callable from any thread.
#pragma once

#include "media/media_frame.h"

#include <cstdint>
#include <span>

namespace mirror::media {

struct PictureReference {
  bool known = false;       // a slice was found and its header parsed
  bool reference = true;    // may be used to predict other pictures
  int temporal_id = 0;      // HEVC nuh_temporal_id; 0 for H.264
};

// `payload`: one access unit as length-prefixed NAL units (a MediaFrame's).
// HEVC: a sub-layer non-reference picture (TRAIL_N, TSA_N, STSA_N, RADL_N,
// RASL_N and the reserved _N types) may still be a reference for pictures of a
// higher temporal sub-layer; the caller compares temporal_id with the highest
// it has seen.
PictureReference picture_reference(Codec codec, std::span<const std::uint8_t> payload) noexcept;

}  // namespace mirror::media
