// The CMAF (fragmented MP4) writer: the initialization segment of one track
// (ftyp + moov with its sample entry and mvex) and the header of a fragment
// (moof + the mdat header) for a run of samples. One track per file, as CMAF
// wants: video and audio are separate renditions.
//
// The sample bytes themselves are never copied here: a fragment is this
// header followed by the samples' own buffers (length-prefixed NAL units for
// video, raw AAC frames for audio), exactly as they left ingest.
// Pure functions; any thread.
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"

#include <cstdint>
#include <span>
#include <string>

namespace mirror::package::cmaf {

// The single track of every file.
inline constexpr std::uint32_t kTrackId = 1;

// ftyp + moov for the track described by `config` (H.264 avc1/avcC, HEVC
// hvc1/hvcC, AAC mp4a/esds). Fails when the configuration lacks what the
// sample entry needs (no SPS, no AudioSpecificConfig).
core::Result<std::string> write_init_segment(const media::CodecConfig& config);

struct Sample {
  std::uint32_t size = 0;
  std::uint32_t duration = 0;           // in the track's timescale
  std::int32_t composition_offset = 0;  // pts - dts
  bool keyframe = false;
  // A leading picture that cannot be decoded from the sync sample before it
  // (HEVC RASL): flagged so that a player starting there skips it.
  bool leading_undecodable = false;
};

// moof (mfhd, traf with tfhd, 64-bit tfdt and trun) followed by the 8-byte
// mdat header for `samples`, whose bytes must follow in order. Video runs carry
// per-sample flags and composition offsets (trun version 1 when an offset is
// negative); audio runs only sizes and durations (every AAC frame is a sync
// sample by the trex default).
std::string write_fragment_header(std::uint32_t sequence_number, std::uint64_t base_decode_time,
                                  std::span<const Sample> samples, media::TrackKind kind);

}  // namespace mirror::package::cmaf
