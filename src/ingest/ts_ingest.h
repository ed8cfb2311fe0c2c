// TsIngest: MPEG-TS bytes of one publisher in, MediaFrames of its stream out.
// The TsDemuxer finds the program's first video (H.264 or HEVC) and first
// audio (AAC) stream; per track, 33-bit timestamps are unwrapped to 64 bits and
// an access-unit assembler (video) or ADTS framer (audio) makes frames, which
// are published on the stream's hub. Demuxer and bitstream errors are counted
// on the stream. Every other elementary stream is ignored (logged once).
// Threads: driven by its transport's thread only (a ByteSink).
#pragma once

#include "ingest/byte_sink.h"
#include "ingest/live_stream.h"
#include "ingest/mpegts/ts_demuxer.h"
#include "media/aac_framer.h"
#include "media/timestamp.h"
#include "media/video_access_unit.h"

#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace mirror::ingest {

class TsIngest final : public ByteSink {
 public:
  explicit TsIngest(std::shared_ptr<LiveStream> stream);
  ~TsIngest() override;

  void push(std::span<const std::uint8_t> bytes,
            std::chrono::system_clock::time_point arrival) override;
  void finish() override;

  const TsDemuxerStats& demuxer_stats() const { return demuxer_.stats(); }

 private:
  // Constructors instead of member initialisers: std::optional of a nested
  // class must see it default-constructible before the enclosing class ends.
  struct VideoTrack {
    VideoTrack() : pts(33), dts(33) {}
    std::uint16_t pid = 0;
    media::TimestampUnwrapper pts;
    media::TimestampUnwrapper dts;
    std::unique_ptr<media::VideoAccessUnitAssembler> assembler;
  };
  struct AudioTrack {
    AudioTrack() : pts(33) {}
    std::uint16_t pid = 0;
    media::TimestampUnwrapper pts;
    std::unique_ptr<media::AacFramer> framer;
  };

  void on_program(const ProgramInfo& program);
  void on_pes(const PesPacket& pes);
  void account_errors();

  std::shared_ptr<LiveStream> stream_;
  TsDemuxer demuxer_;
  std::optional<VideoTrack> video_;
  std::optional<AudioTrack> audio_;
  TsDemuxerStats seen_{};  // demuxer figures already added to the stream
  std::uint64_t seen_bitstream_errors_ = 0;
};

// Every frame of an MPEG-TS held in memory, as its stream's hub would deliver
// them (fed in `chunk`-byte pieces, as SRT delivers them; every frame's
// arrival is now). For files, tests and benchmarks.
std::vector<media::MediaFrame> demux_ts(std::span<const std::uint8_t> ts, std::size_t chunk = 1316);

}  // namespace mirror::ingest
