#include "media/picture_reference.h"

#include "media/annexb.h"
#include "media/h264.h"
#include "media/hevc.h"

namespace mirror::media {

PictureReference picture_reference(Codec codec, std::span<const std::uint8_t> payload) noexcept {
  PictureReference out;
  for_each_length_prefixed(payload, [&](std::span<const std::uint8_t> nal) {
    if (out.known) return;
    if (codec == Codec::kHevc) {
      const auto h = parse_hevc_nal_header(nal);
      if (!h || !is_hevc_vcl(h->type) || h->layer_id != 0) return;
      out.known = true;
      // Types 0-14 that are even are the sub-layer non-reference ones.
      out.reference = !(h->type <= 14 && h->type % 2 == 0);
      out.temporal_id = h->temporal_id;
    } else {
      const auto h = parse_h264_nal_header(nal);
      if (!h || !is_h264_vcl(h->type)) return;
      out.known = true;
      out.reference = h->nal_ref_idc != 0;
    }
  });
  return out;
}

}  // namespace mirror::media
