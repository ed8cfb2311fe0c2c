#include "media/aac.h"

#include "media/bit_reader.h"

#include <array>

namespace mirror::media {

namespace {

constexpr std::array<int, 13> kSampleRates = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                              22050, 16000, 12000, 11025, 8000,  7350};

core::Error invalid(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

int read_object_type(BitReader& br) {
  const int type = static_cast<int>(br.read_bits(5));
  return type == 31 ? 32 + static_cast<int>(br.read_bits(6)) : type;
}

// samplingFrequencyIndex, with the explicit 24-bit frequency for index 15.
void read_frequency(BitReader& br, int& index, int& rate) {
  index = static_cast<int>(br.read_bits(4));
  if (index == 15) {
    rate = static_cast<int>(br.read_bits(24));
  } else {
    rate = aac_sample_rate(index);
  }
}

}  // namespace

int aac_sample_rate(int sample_rate_index) noexcept {
  if (sample_rate_index < 0 || sample_rate_index >= static_cast<int>(kSampleRates.size())) return 0;
  return kSampleRates[static_cast<std::size_t>(sample_rate_index)];
}

int aac_sample_rate_index(int sample_rate) noexcept {
  for (std::size_t i = 0; i < kSampleRates.size(); ++i) {
    if (kSampleRates[i] == sample_rate) return static_cast<int>(i);
  }
  return -1;
}

int aac_channel_count(int channel_config) noexcept {
  if (channel_config >= 1 && channel_config <= 6) return channel_config;
  if (channel_config == 7) return 8;
  return 0;
}

std::optional<AdtsHeader> read_adts_header(std::span<const std::uint8_t> data) noexcept {
  if (data.size() < 7 || data[0] != 0xff || (data[1] & 0xf6) != 0xf0) return std::nullopt;
  const bool protection_absent = (data[1] & 0x01) != 0;
  if (data.size() < (protection_absent ? 7u : 9u)) return std::nullopt;
  const int index = (data[2] >> 2) & 0x0f;
  const int frame_length = ((data[3] & 0x03) << 11) | (data[4] << 3) | ((data[5] >> 5) & 0x07);
  if (index >= 13 || frame_length < (protection_absent ? 7 : 9)) return std::nullopt;
  auto header = parse_adts_header(data);
  if (!header) return std::nullopt;
  return header.value();
}

core::Result<AdtsHeader> parse_adts_header(std::span<const std::uint8_t> data) {
  if (data.size() < 7) return invalid("ADTS header truncated");
  if (data[0] != 0xff || (data[1] & 0xf0) != 0xf0) return invalid("ADTS sync word missing");
  if ((data[1] & 0x06) != 0) return invalid("ADTS layer is not 0");
  AdtsHeader h;
  h.mpeg2 = (data[1] & 0x08) != 0;
  h.protection_absent = (data[1] & 0x01) != 0;
  h.header_length = h.protection_absent ? 7 : 9;
  if (data.size() < static_cast<std::size_t>(h.header_length))
    return invalid("ADTS header truncated");
  h.object_type = ((data[2] >> 6) & 0x03) + 1;
  h.sample_rate_index = (data[2] >> 2) & 0x0f;
  if (h.sample_rate_index >= 13) return invalid("ADTS sampling frequency index out of range");
  h.sample_rate = aac_sample_rate(h.sample_rate_index);
  h.channel_config = ((data[2] & 0x01) << 2) | ((data[3] >> 6) & 0x03);
  h.frame_length = ((data[3] & 0x03) << 11) | (data[4] << 3) | ((data[5] >> 5) & 0x07);
  h.number_of_raw_data_blocks = data[6] & 0x03;
  if (h.frame_length < h.header_length) return invalid("ADTS frame_length shorter than its header");
  return h;
}

core::Result<Bytes> build_audio_specific_config(int object_type, int sample_rate_index,
                                                int channel_config) {
  if (object_type < 1 || object_type > 95) return invalid("AAC object type out of range");
  if (sample_rate_index < 0 || sample_rate_index >= 13) {
    return invalid("AAC sampling frequency index out of range");
  }
  if (channel_config < 0 || channel_config > 15)
    return invalid("AAC channel configuration out of range");
  // Bits, MSB first: audioObjectType (5, or 5 + 6 with the escape),
  // samplingFrequencyIndex (4), channelConfiguration (4), then GASpecificConfig:
  // frameLengthFlag, dependsOnCoreCoder, extensionFlag, all 0.
  std::uint32_t bits = 0;
  int count = 0;
  auto put = [&](std::uint32_t value, int n) {
    bits = (bits << n) | (value & ((1u << n) - 1));
    count += n;
  };
  if (object_type < 31) {
    put(static_cast<std::uint32_t>(object_type), 5);
  } else {
    put(31, 5);
    put(static_cast<std::uint32_t>(object_type - 32), 6);
  }
  put(static_cast<std::uint32_t>(sample_rate_index), 4);
  put(static_cast<std::uint32_t>(channel_config), 4);
  put(0, 3);
  const int bytes = (count + 7) / 8;
  bits <<= bytes * 8 - count;
  Bytes out(static_cast<std::size_t>(bytes));
  for (int i = 0; i < bytes; ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(bits >> (8 * (bytes - 1 - i)));
  }
  return out;
}

core::Result<AudioSpecificConfig> parse_audio_specific_config(std::span<const std::uint8_t> data) {
  BitReader br(data);
  AudioSpecificConfig asc;
  asc.object_type = read_object_type(br);
  read_frequency(br, asc.sample_rate_index, asc.sample_rate);
  asc.channel_config = static_cast<int>(br.read_bits(4));
  if (!br.error() && (asc.object_type == 5 || asc.object_type == 29)) {
    // Explicit hierarchical SBR / PS signalling: the extension's output rate,
    // then the core object type.
    asc.extension_object_type = asc.object_type;
    int index = 0;
    read_frequency(br, index, asc.extension_sample_rate);
    asc.object_type = read_object_type(br);
    if (!br.error() && asc.extension_sample_rate == 0) {
      return invalid("AudioSpecificConfig extension sampling frequency index reserved");
    }
  }
  if (br.error()) return invalid("AudioSpecificConfig truncated");
  if (asc.object_type == 0) return invalid("AudioSpecificConfig object type 0 is null");
  if (asc.sample_rate == 0) return invalid("AudioSpecificConfig sampling frequency index reserved");
  return asc;
}

std::string mp4a_codec_string(int object_type) {
  return "mp4a.40." + std::to_string(object_type);
}

std::optional<Bytes> aac_lc_silent_frame(int channels) {
  // raw_data_block(): one element, then ID_END (7) and byte alignment. Each
  // individual_channel_stream has global_gain 0 and ics_info with
  // ONLY_LONG_SEQUENCE, max_sfb 0 (no scale factor bands, so no section,
  // scale factor or spectral data) and no pulse, TNS or gain control.
  //   mono:   SCE (id 0), tag 0, ics, END: 32 bits.
  //   stereo: CPE (id 1), tag 0, common_window 0, ics, ics, END: 55 bits.
  switch (channels) {
    case 1:
      return Bytes{0x00, 0x00, 0x00, 0x07};
    case 2:
      return Bytes{0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e};
    default:
      return std::nullopt;
  }
}

}  // namespace mirror::media
