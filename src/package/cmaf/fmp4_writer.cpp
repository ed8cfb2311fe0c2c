#include "package/cmaf/fmp4_writer.h"

#include "media/h264.h"
#include "media/hevc.h"
#include "package/cmaf/box_writer.h"

#include <algorithm>
#include <array>

namespace mirror::package::cmaf {
namespace {

constexpr std::array<std::uint32_t, 9> kUnityMatrix = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

// ISO/IEC 14496-12 §8.8.3.1 sample flags: a sync sample depends on nothing;
// any other depends on others and is not a sync sample; a leading sample
// that depends on samples before the sync sample it follows (is_leading 1)
// is not decodable when decoding starts there.
constexpr std::uint32_t kSyncSampleFlags = 0x02000000;
constexpr std::uint32_t kNonSyncSampleFlags = 0x01010000;
constexpr std::uint32_t kUndecodableLeadingSampleFlags = 0x05010000;

void write_matrix(BoxWriter& w) {
  for (std::uint32_t v : kUnityMatrix) w.u32(v);
}

void write_ftyp(BoxWriter& w) {
  const auto box = w.begin("ftyp");
  w.fourcc("iso6");
  w.u32(0);
  for (const char* brand : {"iso6", "cmfc", "mp41", "dash"}) w.fourcc(brand);
  w.end(box);
}

void write_mvhd(BoxWriter& w) {
  const auto box = w.begin_full("mvhd", 0, 0);
  w.u32(0);     // creation time
  w.u32(0);     // modification time
  w.u32(1000);  // timescale
  w.u32(0);     // duration: unknown (fragmented)
  w.u32(0x00010000);  // rate 1.0
  w.u16(0x0100);      // volume 1.0
  w.zeros(10);
  write_matrix(w);
  w.zeros(24);  // pre_defined
  w.u32(kTrackId + 1);  // next_track_ID
  w.end(box);
}

void write_tkhd(BoxWriter& w, const media::CodecConfig& c) {
  const auto box = w.begin_full("tkhd", 0, 0x000003);  // enabled, in movie
  w.u32(0);
  w.u32(0);
  w.u32(kTrackId);
  w.u32(0);  // reserved
  w.u32(0);  // duration
  w.zeros(8);
  w.u16(0);  // layer
  w.u16(0);  // alternate group
  w.u16(c.kind == media::TrackKind::kAudio ? 0x0100 : 0);
  w.u16(0);
  write_matrix(w);
  const bool video = c.kind == media::TrackKind::kVideo;
  w.u32(video ? static_cast<std::uint32_t>(c.width) << 16 : 0);
  w.u32(video ? static_cast<std::uint32_t>(c.height) << 16 : 0);
  w.end(box);
}

void write_mdhd(BoxWriter& w, const media::CodecConfig& c) {
  const auto box = w.begin_full("mdhd", 0, 0);
  w.u32(0);
  w.u32(0);
  w.u32(c.timescale);
  w.u32(0);
  w.u16(0x55c4);  // ISO-639-2/T "und", packed
  w.u16(0);
  w.end(box);
}

void write_hdlr(BoxWriter& w, const media::CodecConfig& c) {
  const bool video = c.kind == media::TrackKind::kVideo;
  const auto box = w.begin_full("hdlr", 0, 0);
  w.u32(0);
  w.fourcc(video ? "vide" : "soun");
  w.zeros(12);
  const std::string_view name = video ? "Mirror video" : "Mirror audio";
  w.bytes({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
  w.u8(0);
  w.end(box);
}

void write_dinf(BoxWriter& w) {
  const auto dinf = w.begin("dinf");
  const auto dref = w.begin_full("dref", 0, 0);
  w.u32(1);
  const auto url = w.begin_full("url ", 0, 0x000001);  // media in the same file
  w.end(url);
  w.end(dref);
  w.end(dinf);
}

core::Status write_visual_sample_entry(BoxWriter& w, const media::CodecConfig& c) {
  core::Result<media::Bytes> record = c.codec == media::Codec::kHevc
                                          ? media::build_hvcc(c.vps, c.sps, c.pps)
                                          : media::build_avcc(c.sps, c.pps);
  if (!record) return record.error();
  const auto entry = w.begin(c.codec == media::Codec::kHevc ? "hvc1" : "avc1");
  w.zeros(6);
  w.u16(1);  // data_reference_index
  w.zeros(16);
  w.u16(static_cast<std::uint16_t>(c.width));
  w.u16(static_cast<std::uint16_t>(c.height));
  w.u32(0x00480000);  // 72 dpi
  w.u32(0x00480000);
  w.u32(0);
  w.u16(1);  // frame_count
  w.zeros(32);  // compressorname
  w.u16(0x0018);
  w.u16(0xffff);  // pre_defined = -1
  const auto config_box = w.begin(c.codec == media::Codec::kHevc ? "hvcC" : "avcC");
  w.bytes(*record);
  w.end(config_box);
  w.end(entry);
  return core::Ok{};
}

// ISO/IEC 14496-1 descriptor header with a one-byte length (all of ours are short).
void descriptor(BoxWriter& w, std::uint8_t tag, std::size_t length) {
  w.u8(tag);
  w.u8(static_cast<std::uint8_t>(length));
}

core::Status write_audio_sample_entry(BoxWriter& w, const media::CodecConfig& c) {
  if (c.audio_specific_config.empty() || c.audio_specific_config.size() > 64) {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "AAC track without a usable AudioSpecificConfig");
  }
  const auto entry = w.begin("mp4a");
  w.zeros(6);
  w.u16(1);
  w.zeros(8);
  w.u16(static_cast<std::uint16_t>(std::clamp(c.channels, 1, 8)));
  w.u16(16);  // sample size
  w.u32(0);
  // The 16.16 rate field cannot hold rates above 65535 Hz; the
  // AudioSpecificConfig is authoritative anyway.
  w.u32(c.sample_rate > 0 && c.sample_rate <= 0xffff ? static_cast<std::uint32_t>(c.sample_rate) << 16
                                                     : 0);
  const auto esds = w.begin_full("esds", 0, 0);
  const std::size_t asc = c.audio_specific_config.size();
  const std::size_t decoder_specific = 2 + asc;
  const std::size_t decoder_config = 2 + 13 + decoder_specific;
  const std::size_t sl_config = 2 + 1;
  descriptor(w, 0x03, 3 + decoder_config + sl_config);  // ES_Descriptor
  w.u16(0);  // ES_ID
  w.u8(0);   // no dependence, URL or OCR stream
  descriptor(w, 0x04, 13 + decoder_specific);  // DecoderConfigDescriptor
  w.u8(0x40);   // Audio ISO/IEC 14496-3
  w.u8(0x15);   // audio stream, upStream 0, reserved 1
  w.u24(0);     // bufferSizeDB
  w.u32(0);     // maxBitrate: unknown
  w.u32(0);     // avgBitrate: unknown
  descriptor(w, 0x05, asc);  // DecoderSpecificInfo
  w.bytes(c.audio_specific_config);
  descriptor(w, 0x06, 1);  // SLConfigDescriptor
  w.u8(0x02);
  w.end(esds);
  w.end(entry);
  return core::Ok{};
}

core::Status write_stbl(BoxWriter& w, const media::CodecConfig& c) {
  const auto stbl = w.begin("stbl");
  const auto stsd = w.begin_full("stsd", 0, 0);
  w.u32(1);
  auto st = c.kind == media::TrackKind::kAudio ? write_audio_sample_entry(w, c)
                                               : write_visual_sample_entry(w, c);
  if (!st) return st;
  w.end(stsd);
  // Empty sample tables: every sample lives in the fragments.
  for (const char* type : {"stts", "stsc", "stco"}) {
    const auto box = w.begin_full(type, 0, 0);
    w.u32(0);
    w.end(box);
  }
  const auto stsz = w.begin_full("stsz", 0, 0);
  w.u32(0);
  w.u32(0);
  w.end(stsz);
  w.end(stbl);
  return core::Ok{};
}

}  // namespace

core::Result<std::string> write_init_segment(const media::CodecConfig& config) {
  const bool video = config.kind == media::TrackKind::kVideo;
  if (video && (config.sps.empty() || config.pps.empty() ||
                (config.codec == media::Codec::kHevc && config.vps.empty()))) {
    return core::Error(core::ErrorCode::kInvalidInput, "video track without parameter sets");
  }
  if (config.timescale == 0) {
    return core::Error(core::ErrorCode::kInvalidInput, "track without a timescale");
  }
  std::string out;
  out.reserve(1024);
  BoxWriter w(out);
  write_ftyp(w);
  const auto moov = w.begin("moov");
  write_mvhd(w);
  const auto trak = w.begin("trak");
  write_tkhd(w, config);
  const auto mdia = w.begin("mdia");
  write_mdhd(w, config);
  write_hdlr(w, config);
  const auto minf = w.begin("minf");
  if (video) {
    const auto vmhd = w.begin_full("vmhd", 0, 0x000001);
    w.zeros(8);
    w.end(vmhd);
  } else {
    const auto smhd = w.begin_full("smhd", 0, 0);
    w.u32(0);
    w.end(smhd);
  }
  write_dinf(w);
  if (auto st = write_stbl(w, config); !st) return st.error();
  w.end(minf);
  w.end(mdia);
  w.end(trak);
  const auto mvex = w.begin("mvex");
  const auto trex = w.begin_full("trex", 0, 0);
  w.u32(kTrackId);
  w.u32(1);  // default_sample_description_index
  w.u32(0);
  w.u32(0);
  w.u32(0);
  w.end(trex);
  w.end(mvex);
  w.end(moov);
  return out;
}

std::string write_fragment_header(std::uint32_t sequence_number, std::uint64_t base_decode_time,
                                  std::span<const Sample> samples, media::TrackKind kind) {
  const bool video = kind == media::TrackKind::kVideo;
  const bool negative_offsets = std::any_of(samples.begin(), samples.end(), [](const Sample& s) {
    return s.composition_offset < 0;
  });
  const bool offsets = video && std::any_of(samples.begin(), samples.end(), [](const Sample& s) {
    return s.composition_offset != 0;
  });
  std::string out;
  out.reserve(96 + samples.size() * 16);
  BoxWriter w(out);
  const auto moof = w.begin("moof");
  const auto mfhd = w.begin_full("mfhd", 0, 0);
  w.u32(sequence_number);
  w.end(mfhd);
  const auto traf = w.begin("traf");
  const auto tfhd = w.begin_full("tfhd", 0, 0x020000);  // default-base-is-moof
  w.u32(kTrackId);
  w.end(tfhd);
  const auto tfdt = w.begin_full("tfdt", 1, 0);
  w.u64(base_decode_time);
  w.end(tfdt);
  std::uint32_t flags = 0x000001 | 0x000100 | 0x000200;  // data offset, durations, sizes
  if (video) flags |= 0x000400;                           // per-sample flags
  if (offsets) flags |= 0x000800;                         // composition offsets
  const auto trun = w.begin_full("trun", offsets && negative_offsets ? 1 : 0, flags);
  w.u32(static_cast<std::uint32_t>(samples.size()));
  const std::size_t data_offset_at = w.size();
  w.u32(0);
  std::uint64_t payload = 0;
  for (const Sample& s : samples) {
    w.u32(s.duration);
    w.u32(s.size);
    if (video) {
      w.u32(s.keyframe              ? kSyncSampleFlags
            : s.leading_undecodable ? kUndecodableLeadingSampleFlags
                                    : kNonSyncSampleFlags);
    }
    if (offsets) w.u32(static_cast<std::uint32_t>(s.composition_offset));
    payload += s.size;
  }
  w.end(trun);
  w.end(traf);
  w.end(moof);
  // The samples start right after the 8-byte mdat header.
  w.patch_u32(data_offset_at, static_cast<std::uint32_t>(out.size() + 8));
  w.u32(static_cast<std::uint32_t>(8 + payload));
  w.fourcc("mdat");
  return out;
}

}  // namespace mirror::package::cmaf
