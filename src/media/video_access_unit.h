// VideoAccessUnitAssembler: turns the Annex B bytes of one H.264 or HEVC track,
// as they come out of PES packets, into MediaFrames of one access unit each.
//
// It finds access-unit boundaries in the NAL units themselves (access unit
// delimiters; the first slice of a new picture; parameter sets or prefix SEI
// after the slices of the current picture), and a PES with a new PTS starts a
// new access unit at the latest. Parameter sets are collected by id and go into
// a shared CodecConfig (as CMAF wants them: out of band), never into the
// payload; access unit delimiters and filler data are dropped. The payload is
// the remaining NAL units, each with a 4-byte big-endian length.
//
// Timestamps are passed through as given (unwrapping happens before): an
// access unit takes the PTS/DTS of the push its first NAL unit arrived in. A
// push with kNoTimestamp, or with the same timestamps as the push before it,
// continues the previous PES; an access unit that starts there gets the
// previous access unit's timestamps plus one frame duration (from the VUI frame
// rate; 0 when the stream has none).
//
// A keyframe is an H.264 IDR or a picture with a recovery point SEI (an
// intra-refresh camera sends no other place to join), or an HEVC IRAP.
// Nothing is emitted before a keyframe whose parameter
// sets have all been seen. An access unit is emitted as soon as the first bytes
// of the next one arrive (normally: with the next PES), or on flush().
//
// Threads: one assembler per video track, used from that track's ingest thread
// only; the callback runs on that thread, inside push() or flush(), and must not
// call back into the assembler.
#pragma once

#include "media/annexb.h"
#include "media/media_frame.h"
#include "media/timestamp.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mirror::media {

struct VideoAssemblerCounters {
  std::uint64_t frames = 0;     // emitted, keyframes included
  std::uint64_t keyframes = 0;  // emitted keyframes
  // Access units dropped while waiting for the first keyframe and its parameter
  // sets (and HEVC RASL pictures that belong to an open GOP we joined late).
  std::uint64_t dropped_before_keyframe = 0;
  // Malformed NAL units and parameter sets, slices whose parameter sets are
  // missing, access units or NAL units beyond the size limit.
  std::uint64_t bitstream_errors = 0;
};

class VideoAccessUnitAssembler final : private NalUnitSink {
 public:
  using FrameCallback = std::function<void(MediaFrame)>;

  static constexpr std::size_t kDefaultMaxAccessUnitBytes = 16u << 20;

  // `codec` is Codec::kH264 or Codec::kHevc (anything else is treated as H.264).
  VideoAccessUnitAssembler(Codec codec, FrameCallback on_frame, std::uint32_t track = 0,
                           std::size_t max_access_unit_bytes = kDefaultMaxAccessUnitBytes);

  // One chunk of the elementary stream (normally one PES payload) with the PES
  // timestamps (90 kHz; dts = kNoTimestamp means dts = pts).
  // `complete`: the chunk holds whole access units (one MPEG-TS PES, one RTP
  // access unit), so the last one is emitted now instead of when the next
  // chunk begins: a frame less of latency, and no copy of the last NAL unit.
  void push(std::span<const std::uint8_t> annexb, std::int64_t pts, std::int64_t dts,
            std::chrono::system_clock::time_point arrival, bool complete = false);
  // The stream ended (or paused): emits the pending access unit.
  void flush();
  // A break in the stream (reconnect): drops the pending data and waits for the
  // next keyframe. Parameter sets are kept; a changed one is picked up as usual.
  void reset();

  const VideoAssemblerCounters& counters() const noexcept { return counters_; }
  // The configuration of the last emitted frame (null before the first).
  const CodecConfigPtr& config() const noexcept { return config_; }

 private:
  struct Stamp {
    std::int64_t pts = 0;
    std::int64_t dts = 0;
    std::chrono::system_clock::time_point arrival{};
    bool fresh = false;     // carries timestamps of its own
    bool consumed = false;  // an access unit took them already
  };

  // What a NAL unit means for access-unit assembly.
  struct NalInfo {
    int type = 0;
    bool vcl = false;
    bool first_slice = false;          // first slice of a new picture
    bool starts_au = false;            // AUD: always the first NAL unit of an access unit
    bool starts_au_after_vcl = false;  // parameter sets, prefix SEI, ...
    bool parameter_set = false;
    bool dropped = false;  // AUD, filler: not in the payload
    bool keyframe = false;
    bool rasl = false;
    bool recovery_point = false;  // an H.264 recovery point SEI
    bool gradual_refresh = false;  // ... whose recovery_frame_cnt is above 0
    int pps_id = -1;
    int idr_or_ref = 0;  // H.264: distinguishes pictures (IDR-ness, nal_ref_idc zero-ness)
  };

  struct PendingAccessUnit {
    bool active = false;
    bool has_vcl = false;
    bool keyframe = false;
    bool rasl = false;
    bool recovery_point = false;  // an H.264 recovery point SEI
    bool gradual_refresh = false;  // ... whose recovery_frame_cnt is above 0
    bool broken = false;
    bool stamped = false;  // timestamps came from a PES, not extrapolated
    int vcl_type = -1;     // of the first slice
    int pps_id = -1;       // of the first slice
    int idr_or_ref = 0;
    std::int64_t pts = 0;
    std::int64_t dts = 0;
    std::chrono::system_clock::time_point arrival{};
  };

  // What the configuration needs from an SPS.
  struct SpsEntry {
    Bytes bytes;
    int vps_id = 0;
    std::string codec_string;
    int width = 0;
    int height = 0;
    double frame_rate = 0;
    int profile = 0;
    int level = 0;
    int bit_depth = 8;
    int chroma_format = 1;
  };
  struct PpsEntry {
    Bytes bytes;
    int sps_id = 0;
  };

  void on_nal_unit(std::span<const std::uint8_t> nal, bool began_in_this_chunk) override;
  void on_oversized_nal_unit(bool began_in_this_chunk) override;
  std::optional<NalInfo> classify_h264(std::span<const std::uint8_t> nal) const;
  std::optional<NalInfo> classify_hevc(std::span<const std::uint8_t> nal) const;
  std::optional<NalInfo> classify(std::span<const std::uint8_t> nal) const;
  bool starts_new_access_unit(const NalInfo& info, const Stamp& stamp) const;
  // Where a NAL unit goes: ends the pending access unit and begins the next when
  // it starts one. Needs only the NAL unit's first bytes.
  void place(const NalInfo& info, Stamp& stamp);
  // Adds a complete NAL unit to the access unit it was placed in.
  void add(const NalInfo& info, std::span<const std::uint8_t> nal);
  // Places the NAL unit still being received, so that the access unit before it
  // goes out now rather than when that NAL unit ends.
  void place_carried_nal();
  void begin_access_unit(Stamp& stamp);
  void store_parameter_set(const NalInfo& info, std::span<const std::uint8_t> nal);
  void finish_access_unit();
  bool update_config(const PpsEntry& pps, const SpsEntry& sps, const Bytes* vps);

  Codec codec_;
  FrameCallback on_frame_;
  std::uint32_t track_;
  std::size_t max_access_unit_bytes_;
  AnnexBSplitter splitter_;

  Stamp push_stamp_;           // of the chunk being pushed
  Stamp carry_stamp_;          // of the chunk the carried NAL unit began in
  bool carry_placed_ = false;  // place() has seen the carried NAL unit
  bool has_last_push_ = false;
  std::int64_t last_push_pts_ = 0;
  std::int64_t last_push_dts_ = 0;
  bool has_prev_ = false;  // timestamps of the previous access unit, for extrapolation
  std::int64_t prev_pts_ = 0;
  std::int64_t prev_dts_ = 0;
  std::int64_t frame_duration_ = 0;

  PendingAccessUnit au_;
  std::vector<std::uint8_t> payload_;  // length-prefixed NAL units of au_, reused
  bool started_ = false;               // the first keyframe has been emitted
  bool skip_rasl_ = false;

  // Parameter sets by id: H.264 has 32 SPS and 256 PPS ids, HEVC 16 VPS, 16 SPS
  // and 64 PPS ids.
  std::array<std::optional<Bytes>, 16> vps_;
  std::array<std::optional<SpsEntry>, 32> sps_;
  std::array<std::optional<PpsEntry>, 256> pps_;
  bool parameter_sets_changed_ = true;  // since config_ was built
  int config_pps_id_ = -1;

  CodecConfigPtr config_;
  VideoAssemblerCounters counters_;
};

}  // namespace mirror::media
