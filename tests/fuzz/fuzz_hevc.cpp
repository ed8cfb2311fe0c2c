// HEVC parsers and the access-unit assembler on hostile bytes: no crash, no
// read past the input, every frame well-formed, and the same frames whether
// the stream arrives whole or in pieces.
#include "media/annexb.h"
#include "media/picture_reference.h"
#include "media/hevc.h"
#include "media/video_access_unit.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

using mirror::media::Bytes;
using mirror::media::MediaFrame;

struct Output {
  std::vector<Bytes> payloads;
  std::vector<std::int64_t> pts;
  std::vector<bool> keyframes;
  mirror::media::VideoAssemblerCounters counters;
};

Output assemble(std::span<const std::uint8_t> stream, std::size_t chunk) {
  Output out;
  mirror::media::VideoAccessUnitAssembler assembler(
      mirror::media::Codec::kHevc, [&](MediaFrame frame) {
        const auto bytes = frame.payload.bytes();
        if (bytes.empty() || !frame.config || frame.config->vps.size() != 1 ||
            frame.config->sps.size() != 1) {
          __builtin_trap();
        }
        if (!mirror::media::for_each_length_prefixed(bytes, [](std::span<const std::uint8_t> nal) {
              if (nal.empty()) __builtin_trap();
            })) {
          __builtin_trap();
        }
        // What the transcoder reads of every access unit before deciding
        // whether to decode it.
        const auto ref = mirror::media::picture_reference(mirror::media::Codec::kHevc, bytes);
        if (ref.temporal_id < 0 || ref.temporal_id > 6) __builtin_trap();
        out.payloads.emplace_back(bytes.begin(), bytes.end());
        out.pts.push_back(frame.pts);
        out.keyframes.push_back(frame.keyframe);
      });
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    const std::size_t n = stream.size() - pos < chunk ? stream.size() - pos : chunk;
    assembler.push(stream.subspan(pos, n), 0, mirror::media::kNoTimestamp, {});
  }
  assembler.flush();
  out.counters = assembler.counters();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  // The whole input as one NAL unit.
  (void)mirror::media::parse_hevc_nal_header(input);
  (void)mirror::media::parse_hevc_vps(input);
  (void)mirror::media::parse_hevc_sps(input);
  (void)mirror::media::parse_hevc_pps(input);
  (void)mirror::media::first_slice_segment_in_pic_flag(input);

  // Each NAL unit of the input as Annex B.
  std::vector<Bytes> vps_list;
  std::vector<Bytes> sps_list;
  std::vector<Bytes> pps_list;
  mirror::media::for_each_nal_unit(input, [&](std::span<const std::uint8_t> nal) {
    if (mirror::media::parse_hevc_vps(nal)) vps_list.emplace_back(nal.begin(), nal.end());
    if (auto sps = mirror::media::parse_hevc_sps(nal)) {
      if (sps->width <= 0 || sps->height <= 0 || sps->width > sps->coded_width ||
          sps->frame_rate < 0) {
        __builtin_trap();
      }
      if (mirror::media::hvc1_codec_string(*sps).rfind("hvc1.", 0) != 0) __builtin_trap();
      sps_list.emplace_back(nal.begin(), nal.end());
    }
    if (mirror::media::parse_hevc_pps(nal)) pps_list.emplace_back(nal.begin(), nal.end());
    (void)mirror::media::parse_hevc_slice_start(nal);
  });
  if (!sps_list.empty()) {
    auto hvcc = mirror::media::build_hvcc(vps_list, sps_list, pps_list);
    if (!hvcc || hvcc->size() < 23 || (*hvcc)[0] != 1) __builtin_trap();
  }

  // The assembler, whole and in pieces of a size the input picks.
  const Output whole = assemble(input, size == 0 ? 1 : size);
  const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 17;
  const Output pieces = assemble(input, chunk);
  if (whole.payloads != pieces.payloads || whole.pts != pieces.pts ||
      whole.keyframes != pieces.keyframes ||
      whole.counters.bitstream_errors != pieces.counters.bitstream_errors ||
      whole.counters.dropped_before_keyframe != pieces.counters.dropped_before_keyframe) {
    __builtin_trap();
  }
  return 0;
}
