// libFuzzer target for SDP: parse_sdp on arbitrary text, then every fmtp
// helper on every media section it accepts, and the base64 decoder. Checks,
// besides the sanitizers: errors are INVALID_INPUT with a message, and
// accepted descriptions keep their promises (a chosen payload type from the
// m= line, ports in range, a clock rate).
#include "ingest/rtp/base64.h"
#include "ingest/rtp/sdp.h"
#include "ingest/rtp/sdp_codec_params.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace mirror::ingest;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_error(const mirror::core::Error& error) {
  require(error.code == mirror::core::ErrorCode::kInvalidInput && !error.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)decode_base64(text);
  auto sdp = parse_sdp(text);
  if (!sdp.ok()) {
    check_error(sdp.error());
    return 0;
  }
  require(!sdp->media.empty());
  for (const auto& media : sdp->media) {
    require(std::find(media.payload_types.begin(), media.payload_types.end(), media.payload_type) !=
            media.payload_types.end());
    require(media.clock_rate > 0);
    require(std::uint32_t{media.port} + media.port_count - 1 <= 65535);
    switch (media.encoding) {
      case RtpEncoding::kH264: {
        auto p = h264_rtp_parameters(media);
        if (!p.ok()) check_error(p.error());
        break;
      }
      case RtpEncoding::kHevc: {
        auto p = hevc_rtp_parameters(media);
        if (!p.ok()) check_error(p.error());
        break;
      }
      case RtpEncoding::kMpeg4Generic: {
        auto p = aac_rtp_parameters(media);
        if (!p.ok()) check_error(p.error());
        break;
      }
      case RtpEncoding::kMp2t:
        break;
    }
  }
  return 0;
}
