#include "ingest/rtp/sdp_codec_params.h"

#include "ingest/rtp/base64.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace mirror::ingest {
namespace {

// Parameter sets are small; anything larger is not one.
constexpr std::size_t kMaxParameterSetSize = 4096;
constexpr std::size_t kMaxParameterSets = 32;
constexpr std::size_t kMaxAudioConfigSize = 64;

core::Error fmtp_error(const MediaDescription& media, std::string message) {
  const int line = media.fmtp_line ? media.fmtp_line : media.line;
  return core::Error(core::ErrorCode::kInvalidInput,
                     "sdp line " + std::to_string(line) + ": " + message, {{"line", line}});
}

std::optional<int> small_int(std::string_view s, int max) {
  int value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0 || value > max)
    return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

core::Result<std::vector<media::Bytes>> hevc_sprop(const MediaDescription& media,
                                                   std::string_view key, int nal_type) {
  if (!media.has_fmtp(key)) return std::vector<media::Bytes>{};
  const int line = media.fmtp_line ? media.fmtp_line : media.line;
  auto nals = decode_sprop_nal_units(media.fmtp_value(key), line, key);
  if (!nals) return nals.error();
  for (const auto& nal : *nals) {
    if (nal.size() < 2 || ((nal[0] >> 1) & 0x3f) != nal_type) {
      return fmtp_error(media, std::string(key) + " holds a NAL unit that is not of type " +
                                   std::to_string(nal_type));
    }
  }
  return nals;
}

}  // namespace

core::Result<std::vector<media::Bytes>> decode_sprop_nal_units(std::string_view value, int line,
                                                               std::string_view name) {
  auto error = [&](std::string message) {
    return core::Error(
        core::ErrorCode::kInvalidInput,
        "sdp line " + std::to_string(line) + ": " + std::string(name) + " " + message,
        {{"line", line}});
  };
  std::vector<media::Bytes> nals;
  if (value.empty()) return error("is empty");
  std::size_t pos = 0;
  while (pos <= value.size()) {
    const std::size_t comma = std::min(value.find(',', pos), value.size());
    const std::string_view item = value.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) return error("has an empty entry");
    auto bytes = decode_base64(item);
    if (!bytes) return error("entry '" + std::string(item.substr(0, 32)) + "' is not base64");
    if (bytes->empty() || bytes->size() > kMaxParameterSetSize)
      return error("entry has an implausible size");
    if ((*bytes)[0] & 0x80) return error("entry has the forbidden_zero_bit set");
    if (nals.size() == kMaxParameterSets) return error("has too many entries");
    nals.push_back(std::move(*bytes));
  }
  return nals;
}

core::Result<media::Bytes> decode_hex(std::string_view value, int line, std::string_view name) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto error = [&](std::string message) {
    return core::Error(
        core::ErrorCode::kInvalidInput,
        "sdp line " + std::to_string(line) + ": " + std::string(name) + " " + message,
        {{"line", line}});
  };
  if (value.empty()) return error("is empty");
  if (value.size() % 2 != 0) return error("has an odd number of hex digits");
  if (value.size() / 2 > kMaxAudioConfigSize) return error("is too long");
  media::Bytes out;
  out.reserve(value.size() / 2);
  for (std::size_t i = 0; i < value.size(); i += 2) {
    const int hi = digit(value[i]);
    const int lo = digit(value[i + 1]);
    if (hi < 0 || lo < 0) return error("is not hexadecimal");
    out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
  }
  return out;
}

core::Result<H264RtpParameters> h264_rtp_parameters(const MediaDescription& media) {
  if (media.encoding != RtpEncoding::kH264) return fmtp_error(media, "media is not H264");
  H264RtpParameters params;
  if (media.has_fmtp("packetization-mode")) {
    const auto mode = small_int(media.fmtp_value("packetization-mode"), 2);
    if (!mode) return fmtp_error(media, "packetization-mode is not 0, 1 or 2");
    if (*mode == 2) return fmtp_error(media, "packetization-mode 2 (interleaved) is not supported");
    params.packetization_mode = *mode;
  }
  if (media.has_fmtp("sprop-parameter-sets")) {
    const int line = media.fmtp_line ? media.fmtp_line : media.line;
    auto nals = decode_sprop_nal_units(media.fmtp_value("sprop-parameter-sets"), line,
                                       "sprop-parameter-sets");
    if (!nals) return nals.error();
    params.parameter_sets = std::move(*nals);
  }
  params.profile_level_id = std::string(media.fmtp_value("profile-level-id"));
  return params;
}

core::Result<HevcRtpParameters> hevc_rtp_parameters(const MediaDescription& media) {
  if (media.encoding != RtpEncoding::kHevc) return fmtp_error(media, "media is not H265");
  if (media.has_fmtp("sprop-max-don-diff")) {
    const auto diff = small_int(media.fmtp_value("sprop-max-don-diff"), 32767);
    if (!diff) return fmtp_error(media, "sprop-max-don-diff is not a number 0-32767");
    if (*diff != 0)
      return fmtp_error(media, "sprop-max-don-diff > 0 (DONL fields) is not supported");
  }
  if (media.has_fmtp("sprop-depack-buf-nalus")) {
    const auto nalus = small_int(media.fmtp_value("sprop-depack-buf-nalus"), 32767);
    if (!nalus || *nalus != 0) {
      return fmtp_error(media, "sprop-depack-buf-nalus > 0 (DONL fields) is not supported");
    }
  }
  HevcRtpParameters params;
  auto vps = hevc_sprop(media, "sprop-vps", 32);
  if (!vps) return vps.error();
  auto sps = hevc_sprop(media, "sprop-sps", 33);
  if (!sps) return sps.error();
  auto pps = hevc_sprop(media, "sprop-pps", 34);
  if (!pps) return pps.error();
  params.vps = std::move(*vps);
  params.sps = std::move(*sps);
  params.pps = std::move(*pps);
  return params;
}

core::Result<AacRtpParameters> aac_rtp_parameters(const MediaDescription& media) {
  if (media.encoding != RtpEncoding::kMpeg4Generic)
    return fmtp_error(media, "media is not MPEG4-GENERIC");
  AacRtpParameters params;
  const std::string_view mode = media.fmtp_value("mode");
  if (mode.empty()) return fmtp_error(media, "mpeg4-generic without mode");
  if (iequals(mode, "AAC-hbr")) {
    params.mode = "AAC-hbr";
  } else if (iequals(mode, "AAC-lbr")) {
    params.mode = "AAC-lbr";
  } else {
    return fmtp_error(media,
                      "mode '" + std::string(mode) + "' is not supported (AAC-hbr, AAC-lbr)");
  }
  struct Field {
    std::string_view key;
    int max;
    int* out;
  };
  const Field fields[] = {{"sizelength", 16, &params.size_length},
                          {"indexlength", 8, &params.index_length},
                          {"indexdeltalength", 8, &params.index_delta_length}};
  for (const auto& f : fields) {
    if (!media.has_fmtp(f.key)) return fmtp_error(media, std::string(f.key) + " is missing");
    const auto v = small_int(media.fmtp_value(f.key), f.max);
    if (!v) return fmtp_error(media, std::string(f.key) + " is not 0-" + std::to_string(f.max));
    *f.out = *v;
  }
  if (params.size_length == 0) return fmtp_error(media, "sizelength must not be 0");
  for (std::string_view key : {"ctsdeltalength", "dtsdeltalength", "randomaccessindication",
                               "streamstateindication", "auxiliarydatasizelength"}) {
    if (media.has_fmtp(key) && media.fmtp_value(key) != "0") {
      return fmtp_error(media, std::string(key) + " is not supported");
    }
  }
  const int line = media.fmtp_line ? media.fmtp_line : media.line;
  auto config = decode_hex(media.fmtp_value("config"), line, "config");
  if (!config) return config.error();
  if (config->size() < 2) return fmtp_error(media, "config is shorter than an AudioSpecificConfig");
  params.audio_specific_config = std::move(*config);
  params.clock_rate = media.clock_rate;
  params.channels = media.channels;
  return params;
}

}  // namespace mirror::ingest
