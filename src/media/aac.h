// AAC framing syntax (ISO/IEC 14496-3 §1.6 and ISO/IEC 13818-7 §6.2): the ADTS
// header that MPEG-TS audio carries before every frame, the AudioSpecificConfig
// that MP4 sample entries (esds) carry instead, and the RFC 6381 codec string.
//
// Threads: pure functions, callable from any thread.
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mirror::media {

inline constexpr int kAdtsSyncWord = 0xfff;
inline constexpr int kAdtsMaxFrameLength = 8191;  // 13-bit frame_length

// Sample rate of a sampling_frequency_index (0..12); 0 for any other index.
int aac_sample_rate(int sample_rate_index) noexcept;
// Index of a sample rate in the table, or -1 when it has none.
int aac_sample_rate_index(int sample_rate) noexcept;
// Channels of a channel_configuration: 1..6 as is, 7 is 7.1 (8 channels), 0
// (defined in the bitstream) and reserved values give 0.
int aac_channel_count(int channel_config) noexcept;

struct AdtsHeader {
  int header_length = 7;  // 7, or 9 with a CRC
  int frame_length = 0;   // header included
  int object_type = 0;    // profile + 1: 1 Main, 2 LC, 3 SSR, 4 LTP
  int sample_rate_index = 0;
  int sample_rate = 0;
  int channel_config = 0;
  int number_of_raw_data_blocks = 0;  // number_of_raw_data_blocks_in_frame + 1 blocks follow
  bool protection_absent = true;
  bool mpeg2 = false;  // ID bit: MPEG-2 AAC rather than MPEG-4
};

// Parses the header at the start of `data` (at least 7 bytes, 9 with CRC).
// Checks the sync word, layer 0, the sampling frequency index and that
// frame_length covers the header; frame_length may exceed `data`.
core::Result<AdtsHeader> parse_adts_header(std::span<const std::uint8_t> data);
// The same checks without the error detail, for scanning hostile bytes for a
// sync word without building an Error per rejected position.
std::optional<AdtsHeader> read_adts_header(std::span<const std::uint8_t> data) noexcept;

struct AudioSpecificConfig {
  int object_type = 0;        // audioObjectType, with the escape (31 + 6 bits) resolved
  int sample_rate_index = 0;  // 15 when the frequency is explicit
  int sample_rate = 0;
  int channel_config = 0;
  // Explicit SBR/PS signalling (object type 5 or 29): the core object type is in
  // object_type, the extension type and output sample rate here.
  int extension_object_type = 0;
  int extension_sample_rate = 0;
};

// AudioSpecificConfig for a GASpecificConfig object type (AAC Main/LC/SSR/LTP
// ...): 2 bytes for the usual case, more when the object type needs the escape.
core::Result<Bytes> build_audio_specific_config(int object_type, int sample_rate_index,
                                                int channel_config);
core::Result<AudioSpecificConfig> parse_audio_specific_config(std::span<const std::uint8_t> data);

// "mp4a.40.N".
std::string mp4a_codec_string(int object_type);

// A raw AAC-LC frame (no ADTS header) that decodes to 1024 samples of
// digital silence, for one or two channels; nullopt for other layouts.
std::optional<Bytes> aac_lc_silent_frame(int channels);

}  // namespace mirror::media
