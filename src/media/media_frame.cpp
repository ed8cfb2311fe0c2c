#include "media/media_frame.h"

namespace mirror::media {

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kH264: return "h264";
    case Codec::kHevc: return "hevc";
    case Codec::kAac: return "aac";
    case Codec::kUnknown: break;
  }
  return "unknown";
}

bool CodecConfig::same_setup(const CodecConfig& other) const {
  return codec == other.codec && vps == other.vps && sps == other.sps && pps == other.pps &&
         audio_specific_config == other.audio_specific_config;
}

}  // namespace mirror::media
