// libFuzzer target for H.264 over RTP (the body is in rtp_video_fuzz.h).
#include "ingest/rtp/rtp_h264_depacketizer.h"
#include "rtp_video_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // 4-byte start code + 1-byte NAL header.
  return mirror::fuzz::fuzz_rtp_video<mirror::ingest::RtpH264Depacketizer>(data, size, 5);
}
