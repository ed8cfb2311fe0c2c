// ADTS headers, AudioSpecificConfig and the AAC framer on hostile bytes: no
// crash, no read past the input, a parsed config survives a round trip, and the
// framer gives the same frames whether the stream arrives whole or in pieces.
#include "media/aac.h"
#include "media/aac_framer.h"

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
  mirror::media::AacFramerCounters counters;
};

Output frame_all(std::span<const std::uint8_t> stream, std::size_t chunk) {
  Output out;
  mirror::media::AacFramer framer([&](MediaFrame frame) {
    if (!frame.config || frame.config->sample_rate <= 0 ||
        frame.payload.size() > mirror::media::kAdtsMaxFrameLength) {
      __builtin_trap();
    }
    const auto bytes = frame.payload.bytes();
    out.payloads.emplace_back(bytes.begin(), bytes.end());
    out.pts.push_back(frame.pts);
  });
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    const std::size_t n = stream.size() - pos < chunk ? stream.size() - pos : chunk;
    framer.push(stream.subspan(pos, n), pos == 0 ? 0 : mirror::media::kNoTimestamp, {});
  }
  framer.flush();
  out.counters = framer.counters();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  auto header = mirror::media::parse_adts_header(input);
  if (header.ok() != mirror::media::read_adts_header(input).has_value()) __builtin_trap();
  if (header && (header->frame_length < header->header_length || header->sample_rate <= 0)) {
    __builtin_trap();
  }

  if (auto asc = mirror::media::parse_audio_specific_config(input)) {
    if (asc->extension_object_type == 0 && asc->sample_rate_index < 13 && asc->object_type < 96) {
      auto built = mirror::media::build_audio_specific_config(
          asc->object_type, asc->sample_rate_index, asc->channel_config);
      if (!built) __builtin_trap();
      auto again = mirror::media::parse_audio_specific_config(*built);
      if (!again || again->object_type != asc->object_type ||
          again->sample_rate != asc->sample_rate || again->channel_config != asc->channel_config) {
        __builtin_trap();
      }
    }
  }

  const Output whole = frame_all(input, size == 0 ? 1 : size);
  const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 23;
  const Output pieces = frame_all(input, chunk);
  if (whole.payloads != pieces.payloads || whole.pts != pieces.pts ||
      whole.counters.frames != pieces.counters.frames ||
      whole.counters.skipped_bytes != pieces.counters.skipped_bytes ||
      whole.counters.sync_errors != pieces.counters.sync_errors) {
    __builtin_trap();
  }
  return 0;
}
