// libFuzzer target for HEVC over RTP (the body is in rtp_video_fuzz.h).
#include "ingest/rtp/rtp_hevc_depacketizer.h"
#include "rtp_video_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // 4-byte start code + 2-byte NAL header.
  return mirror::fuzz::fuzz_rtp_video<mirror::ingest::RtpHevcDepacketizer>(data, size, 6);
}
