#include "media/video_access_unit.h"

#include "media/h264.h"
#include "media/hevc.h"

#include <algorithm>
#include <cmath>

namespace mirror::media {

namespace {

// avcC and hvcC store parameter set lengths in 16 bits.
constexpr std::size_t kMaxParameterSetBytes = 0xffff;

bool same_bytes(const Bytes& stored, std::span<const std::uint8_t> nal) {
  return stored.size() == nal.size() && std::equal(stored.begin(), stored.end(), nal.begin());
}

}  // namespace

VideoAccessUnitAssembler::VideoAccessUnitAssembler(Codec codec, FrameCallback on_frame,
                                                   std::uint32_t track,
                                                   std::size_t max_access_unit_bytes)
    : codec_(codec == Codec::kHevc ? Codec::kHevc : Codec::kH264),
      on_frame_(std::move(on_frame)),
      track_(track),
      max_access_unit_bytes_(max_access_unit_bytes),
      splitter_(max_access_unit_bytes) {}

void VideoAccessUnitAssembler::push(std::span<const std::uint8_t> annexb, std::int64_t pts,
                                    std::int64_t dts,
                                    std::chrono::system_clock::time_point arrival, bool complete) {
  if (dts == kNoTimestamp) dts = pts;
  push_stamp_ = Stamp{};
  push_stamp_.arrival = arrival;
  if (pts != kNoTimestamp) {
    push_stamp_.pts = pts;
    push_stamp_.dts = dts;
    push_stamp_.fresh = !(has_last_push_ && pts == last_push_pts_ && dts == last_push_dts_);
    has_last_push_ = true;
    last_push_pts_ = pts;
    last_push_dts_ = dts;
  }
  splitter_.push(annexb, *this, complete);
  if (complete) {
    finish_access_unit();
    return;
  }
  if (splitter_.carrying() && splitter_.carry_began_in_last_chunk()) carry_stamp_ = push_stamp_;
  place_carried_nal();
}

void VideoAccessUnitAssembler::place_carried_nal() {
  if (carry_placed_ || !splitter_.carrying()) return;
  // A prefix that is too short to read the slice header from stays undecided
  // until more bytes (or its end) arrive; what is read from a prefix is what
  // the complete NAL unit will say.
  // Trailing zeros may yet turn out to be the next start code's: leave them out,
  // so that the prefix is always a prefix of the NAL unit as it will end.
  const auto info = classify(trim_trailing_zeros(splitter_.carried()));
  if (!info) return;
  place(*info, carry_stamp_);
  carry_placed_ = true;
}

void VideoAccessUnitAssembler::flush() {
  splitter_.flush(*this);
  finish_access_unit();
}

void VideoAccessUnitAssembler::reset() {
  splitter_.reset();
  carry_placed_ = false;
  au_ = PendingAccessUnit{};
  payload_.clear();
  started_ = false;
  skip_rasl_ = false;
  has_last_push_ = false;
  has_prev_ = false;
  push_stamp_ = Stamp{};
  carry_stamp_ = Stamp{};
}

std::optional<VideoAccessUnitAssembler::NalInfo> VideoAccessUnitAssembler::classify_h264(
    std::span<const std::uint8_t> nal) const {
  const auto header = parse_h264_nal_header(nal);
  if (!header) return std::nullopt;
  NalInfo info;
  info.type = header->type;
  switch (header->type) {
    case h264::kNalSlice:
    case h264::kNalSlicePartitionA:
    case h264::kNalIdr: {
      const auto slice = parse_h264_slice_start(nal);
      if (!slice) return std::nullopt;
      info.vcl = true;
      info.first_slice = slice->first_mb_in_slice == 0;
      info.pps_id = slice->pps_id;
      info.keyframe = header->type == h264::kNalIdr;
      info.idr_or_ref =
          (header->type == h264::kNalIdr ? 2 : 0) | (header->nal_ref_idc != 0 ? 1 : 0);
      break;
    }
    case h264::kNalSlicePartitionB:
    case h264::kNalSlicePartitionC:
      info.vcl = true;
      break;
    case h264::kNalSps:
    case h264::kNalPps:
      info.parameter_set = true;
      info.starts_au_after_vcl = true;
      info.dropped = true;
      break;
    case h264::kNalAud:
      info.starts_au = true;
      info.dropped = true;
      break;
    case h264::kNalFiller:
    case h264::kNalSpsExtension:  // not carried: avcC would need it, nothing uses it
      info.dropped = true;
      break;
    case h264::kNalSei: {
      info.starts_au_after_vcl = true;
      const auto recovery = parse_h264_recovery_point(nal);
      info.recovery_point = recovery.has_value();
      info.gradual_refresh = recovery.value_or(0) > 0;
      break;
    }
    case h264::kNalSubsetSps:
    case 16:
    case 17:
    case 18:
      info.starts_au_after_vcl = true;
      break;
    default:  // end of sequence/stream, prefix NAL, extensions: part of the current access unit
      break;
  }
  return info;
}

std::optional<VideoAccessUnitAssembler::NalInfo> VideoAccessUnitAssembler::classify_hevc(
    std::span<const std::uint8_t> nal) const {
  const auto header = parse_hevc_nal_header(nal);
  if (!header) return std::nullopt;
  NalInfo info;
  info.type = header->type;
  if (header->layer_id > 0) {
    // Enhancement layers ride along with the base layer's access unit; their
    // parameter sets have no place in a single-layer configuration.
    info.dropped = header->type >= hevc::kNalVps && header->type <= hevc::kNalPps;
    return info;
  }
  if (is_hevc_vcl(header->type)) {
    const auto slice = parse_hevc_slice_start(nal);
    if (!slice) return std::nullopt;
    info.vcl = true;
    info.first_slice = slice->first_slice_segment_in_pic;
    info.pps_id = slice->pps_id;
    info.keyframe = is_hevc_irap(header->type);
    info.rasl = header->type == hevc::kNalRaslN || header->type == hevc::kNalRaslR;
    return info;
  }
  switch (header->type) {
    case hevc::kNalVps:
    case hevc::kNalSps:
    case hevc::kNalPps:
      info.parameter_set = true;
      info.starts_au_after_vcl = true;
      info.dropped = true;
      break;
    case hevc::kNalAud:
      info.starts_au = true;
      info.dropped = true;
      break;
    case hevc::kNalFiller:
      info.dropped = true;
      break;
    default:
      // Prefix SEI, reserved 41..44 and unspecified 48..55 open an access unit.
      info.starts_au_after_vcl = header->type == hevc::kNalPrefixSei ||
                                 (header->type >= 41 && header->type <= 44) ||
                                 (header->type >= 48 && header->type <= 55);
      break;
  }
  return info;
}

bool VideoAccessUnitAssembler::starts_new_access_unit(const NalInfo& info,
                                                      const Stamp& stamp) const {
  if (info.starts_au) return true;
  if (!au_.has_vcl) return false;
  if (info.starts_au_after_vcl) return true;
  // A PES with timestamps of its own starts an access unit at the latest.
  if (stamp.fresh && !stamp.consumed) return true;
  if (!info.vcl) return false;
  if (info.first_slice) return true;
  // H.264 §7.4.1.2.4: slices of one picture share the PPS, IDR-ness and the
  // zero-ness of nal_ref_idc.
  return codec_ == Codec::kH264 && info.pps_id >= 0 &&
         (info.pps_id != au_.pps_id || info.idr_or_ref != au_.idr_or_ref);
}

void VideoAccessUnitAssembler::begin_access_unit(Stamp& stamp) {
  au_ = PendingAccessUnit{};
  au_.active = true;
  au_.arrival = stamp.arrival;
  payload_.clear();
  if (stamp.fresh && !stamp.consumed) {
    au_.pts = stamp.pts;
    au_.dts = stamp.dts;
    au_.stamped = true;
    stamp.consumed = true;
  } else if (has_prev_) {
    au_.pts = prev_pts_ + frame_duration_;
    au_.dts = prev_dts_ + frame_duration_;
  } else if (has_last_push_) {
    au_.pts = last_push_pts_;
    au_.dts = last_push_dts_;
  }
}

std::optional<VideoAccessUnitAssembler::NalInfo> VideoAccessUnitAssembler::classify(
    std::span<const std::uint8_t> nal) const {
  return codec_ == Codec::kHevc ? classify_hevc(nal) : classify_h264(nal);
}

void VideoAccessUnitAssembler::on_nal_unit(std::span<const std::uint8_t> nal,
                                           bool began_in_this_chunk) {
  const bool placed = !began_in_this_chunk && carry_placed_;
  if (!began_in_this_chunk) carry_placed_ = false;
  const auto info = classify(nal);
  if (!info) {
    ++counters_.bitstream_errors;
    return;
  }
  if (!placed) place(*info, began_in_this_chunk ? push_stamp_ : carry_stamp_);
  add(*info, nal);
}

void VideoAccessUnitAssembler::place(const NalInfo& info, Stamp& stamp) {
  if (au_.active && starts_new_access_unit(info, stamp)) finish_access_unit();
  if (!au_.active) {
    begin_access_unit(stamp);
  } else if (!au_.has_vcl && !au_.stamped && stamp.fresh && !stamp.consumed) {
    // The access unit began with NAL units of a PES without timestamps of its
    // own; the first PES that has them names it.
    au_.pts = stamp.pts;
    au_.dts = stamp.dts;
    au_.stamped = true;
    stamp.consumed = true;
  }
  if (info.vcl && !au_.has_vcl) {
    au_.has_vcl = true;
    au_.vcl_type = info.type;
    au_.pps_id = info.pps_id;
    au_.idr_or_ref = info.idr_or_ref;
  }
}

void VideoAccessUnitAssembler::add(const NalInfo& info, std::span<const std::uint8_t> nal) {
  if (info.parameter_set) {
    store_parameter_set(info, nal);
    return;
  }
  au_.recovery_point = au_.recovery_point || info.recovery_point;
  au_.gradual_refresh = au_.gradual_refresh || info.gradual_refresh;
  if (info.vcl) {
    au_.keyframe = au_.keyframe || info.keyframe;
    au_.rasl = au_.rasl || info.rasl;
  }
  if (info.dropped || au_.broken) return;
  if (payload_.size() + 4 + nal.size() > max_access_unit_bytes_) {
    ++counters_.bitstream_errors;
    au_.broken = true;
    payload_.clear();
    return;
  }
  append_length_prefixed(payload_, nal);
}

void VideoAccessUnitAssembler::on_oversized_nal_unit(bool began_in_this_chunk) {
  // A lost NAL unit that large is a slice: the access unit it belongs to cannot
  // be decoded. It belongs to a new one when its PES brought new timestamps.
  ++counters_.bitstream_errors;
  if (!began_in_this_chunk) carry_placed_ = false;
  Stamp& stamp = began_in_this_chunk ? push_stamp_ : carry_stamp_;
  if (au_.active && au_.has_vcl && stamp.fresh && !stamp.consumed) finish_access_unit();
  if (!au_.active) begin_access_unit(stamp);
  au_.has_vcl = true;
  au_.broken = true;
  payload_.clear();
}

void VideoAccessUnitAssembler::store_parameter_set(const NalInfo& info,
                                                   std::span<const std::uint8_t> nal) {
  if (nal.size() > kMaxParameterSetBytes) {
    ++counters_.bitstream_errors;
    return;
  }
  // A parameter set that fails to parse never replaces the one stored under
  // its id: the stream keeps decoding with the last good one.
  if (codec_ == Codec::kH264) {
    if (info.type == h264::kNalSps) {
      auto sps = parse_h264_sps(nal);
      if (!sps) {
        ++counters_.bitstream_errors;
        return;
      }
      auto& slot = sps_[static_cast<std::size_t>(sps->sps_id)];
      if (slot && same_bytes(slot->bytes, nal)) return;
      SpsEntry entry;
      entry.bytes.assign(nal.begin(), nal.end());
      entry.codec_string = avc1_codec_string(*sps);
      entry.width = sps->width;
      entry.height = sps->height;
      entry.frame_rate = sps->frame_rate;
      entry.profile = sps->profile_idc;
      entry.level = sps->level_idc;
      entry.bit_depth = sps->bit_depth_luma;
      entry.chroma_format = sps->chroma_format_idc;
      slot = std::move(entry);
    } else {
      auto pps = parse_h264_pps(nal);
      if (!pps) {
        ++counters_.bitstream_errors;
        return;
      }
      auto& slot = pps_[static_cast<std::size_t>(pps->pps_id)];
      if (slot && same_bytes(slot->bytes, nal)) return;
      slot = PpsEntry{Bytes(nal.begin(), nal.end()), pps->sps_id};
    }
    parameter_sets_changed_ = true;
    return;
  }

  if (info.type == hevc::kNalVps) {
    auto vps = parse_hevc_vps(nal);
    if (!vps) {
      ++counters_.bitstream_errors;
      return;
    }
    auto& slot = vps_[static_cast<std::size_t>(vps->vps_id)];
    if (slot && same_bytes(*slot, nal)) return;
    slot = Bytes(nal.begin(), nal.end());
  } else if (info.type == hevc::kNalSps) {
    auto sps = parse_hevc_sps(nal);
    if (!sps) {
      ++counters_.bitstream_errors;
      return;
    }
    auto& slot = sps_[static_cast<std::size_t>(sps->sps_id)];
    if (slot && same_bytes(slot->bytes, nal)) return;
    SpsEntry entry;
    entry.bytes.assign(nal.begin(), nal.end());
    entry.vps_id = sps->vps_id;
    entry.codec_string = hvc1_codec_string(*sps);
    entry.width = sps->width;
    entry.height = sps->height;
    entry.frame_rate = sps->frame_rate;
    entry.profile = sps->ptl.profile_idc;
    entry.level = sps->ptl.level_idc;
    entry.bit_depth = sps->bit_depth_luma;
    entry.chroma_format = sps->chroma_format_idc;
    slot = std::move(entry);
  } else {
    auto pps = parse_hevc_pps(nal);
    if (!pps) {
      ++counters_.bitstream_errors;
      return;
    }
    auto& slot = pps_[static_cast<std::size_t>(pps->pps_id)];
    if (slot && same_bytes(slot->bytes, nal)) return;
    slot = PpsEntry{Bytes(nal.begin(), nal.end()), pps->sps_id};
  }
  parameter_sets_changed_ = true;
}

bool VideoAccessUnitAssembler::update_config(const PpsEntry& pps, const SpsEntry& sps,
                                             const Bytes* vps) {
  if (config_ && !parameter_sets_changed_ && config_pps_id_ == au_.pps_id) return false;
  parameter_sets_changed_ = false;
  config_pps_id_ = au_.pps_id;

  // The active SPS (and VPS) and every PPS that refers to that SPS: a stream may
  // switch between PPS ids from picture to picture.
  auto config = std::make_shared<CodecConfig>();
  if (vps != nullptr) config->vps.push_back(*vps);
  config->sps.push_back(sps.bytes);
  for (const auto& entry : pps_) {
    if (entry && entry->sps_id == pps.sps_id) config->pps.push_back(entry->bytes);
  }
  if (config_ && config_->vps == config->vps && config_->sps == config->sps &&
      config_->pps == config->pps) {
    return false;
  }
  config->codec = codec_;
  config->kind = TrackKind::kVideo;
  config->timescale = 90000;
  config->codec_string = sps.codec_string;
  config->width = sps.width;
  config->height = sps.height;
  config->frame_rate = sps.frame_rate;
  config->profile = sps.profile;
  config->level = sps.level;
  config->bit_depth = sps.bit_depth;
  config->chroma_format = sps.chroma_format;
  frame_duration_ = sps.frame_rate >= 1 && sps.frame_rate <= 1000
                        ? static_cast<std::int64_t>(std::llround(90000.0 / sps.frame_rate))
                        : 0;
  config_ = std::move(config);
  return true;
}

void VideoAccessUnitAssembler::finish_access_unit() {
  if (!au_.active) return;
  au_.active = false;
  if (!au_.has_vcl) return;  // stray SEI or parameter sets: nothing to show
  has_prev_ = true;
  prev_pts_ = au_.pts;
  prev_dts_ = au_.dts;
  if (au_.broken) return;  // counted when it broke
  if (payload_.empty()) {  // its slices were placed but never arrived whole
    ++counters_.bitstream_errors;
    return;
  }

  const PpsEntry* pps = nullptr;
  const SpsEntry* sps = nullptr;
  const Bytes* vps = nullptr;
  if (au_.pps_id >= 0 && pps_[static_cast<std::size_t>(au_.pps_id)]) {
    pps = &*pps_[static_cast<std::size_t>(au_.pps_id)];
    if (sps_[static_cast<std::size_t>(pps->sps_id)])
      sps = &*sps_[static_cast<std::size_t>(pps->sps_id)];
  }
  if (sps != nullptr && codec_ == Codec::kHevc && vps_[static_cast<std::size_t>(sps->vps_id)]) {
    vps = &*vps_[static_cast<std::size_t>(sps->vps_id)];
  }
  const bool have_sets = sps != nullptr && (codec_ != Codec::kHevc || vps != nullptr);
  // A recovery point is where a decoder may join: for a source with intra
  // refresh and no IDR after the first it is the only place there is, so it
  // is packaged as a sync sample and may start a segment.
  const bool gradual_refresh = au_.gradual_refresh && !au_.keyframe;
  if (au_.recovery_point) au_.keyframe = true;
  if (!started_ && (!au_.keyframe || !have_sets)) {
    ++counters_.dropped_before_keyframe;
    return;
  }
  if (!have_sets) {
    ++counters_.bitstream_errors;
    return;
  }
  if (codec_ == Codec::kHevc && au_.keyframe) {
    // RASL pictures reference pictures before their IRAP: after a BLA, or a CRA
    // we started at, those were never seen.
    const bool bla = au_.vcl_type >= hevc::kNalBlaWLp && au_.vcl_type < hevc::kNalIdrWRadl;
    skip_rasl_ = bla || (au_.vcl_type == hevc::kNalCra && !started_);
  }
  if (au_.rasl && skip_rasl_) {
    ++counters_.dropped_before_keyframe;
    return;
  }
  started_ = true;

  MediaFrame frame;
  frame.track = track_;
  frame.kind = TrackKind::kVideo;
  frame.codec = codec_;
  frame.pts = au_.pts;
  frame.dts = au_.dts;
  frame.keyframe = au_.keyframe;
  frame.gradual_refresh = gradual_refresh;
  frame.rasl = au_.rasl;
  frame.config_changed = update_config(*pps, *sps, vps);
  frame.config = config_;
  frame.arrival = au_.arrival;
  frame.payload = core::BufferPool::global().copy_of(payload_);
  ++counters_.frames;
  if (frame.keyframe) ++counters_.keyframes;
  on_frame_(std::move(frame));
}

}  // namespace mirror::media
