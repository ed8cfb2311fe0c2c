#include "ingest/ts_ingest.h"

#include "core/logging.h"
#include "ingest/mpegts/stream_type.h"

#include <algorithm>

namespace mirror::ingest {

TsIngest::TsIngest(std::shared_ptr<LiveStream> stream)
    : stream_(std::move(stream)),
      demuxer_(TsDemuxerCallbacks{
          [this](const PesPacket& pes) { on_pes(pes); },
          [this](const ProgramInfo& p) { on_program(p); },
          [this](std::uint16_t pid, std::uint8_t type) {
            core::log::info("ignoring unsupported elementary stream",
                            {{"stream", stream_->name()}, {"pid", pid}, {"stream_type", type},
                             {"codec", stream_type_name(type)}});
            // Private data and SCTE-35 carry no picture or sound worth naming.
            if (is_video_stream_type(type)) {
              stream_->record_ignored_track(media::TrackKind::kVideo, std::string(stream_type_name(type)));
            } else if (type != kStreamTypePrivateData && type != kStreamTypeScte35) {
              stream_->record_ignored_track(media::TrackKind::kAudio, std::string(stream_type_name(type)));
            }
          },
          nullptr}) {}

TsIngest::~TsIngest() = default;

void TsIngest::push(std::span<const std::uint8_t> bytes,
                    std::chrono::system_clock::time_point arrival) {
  demuxer_.push(bytes, arrival);
  account_errors();
}

void TsIngest::finish() {
  demuxer_.flush();
  if (video_) video_->assembler->flush();
  if (audio_) audio_->framer->flush();
  account_errors();
}

void TsIngest::on_program(const ProgramInfo& program) {
  const ProgramStream* video = nullptr;
  const ProgramStream* audio = nullptr;
  for (const auto& s : program.streams) {
    const bool is_video = s.stream_type == kStreamTypeH264 || s.stream_type == kStreamTypeHevc;
    if (is_video && video == nullptr) video = &s;
    if (s.stream_type == kStreamTypeAacAdts && audio == nullptr) audio = &s;
  }
  auto publish = [this](media::MediaFrame f) { stream_->publish(std::move(f)); };
  if (video == nullptr) {
    video_.reset();
  } else if (!video_ || video_->pid != video->pid) {
    if (video_) video_->assembler->flush();
    video_.emplace();
    video_->pid = video->pid;
    const auto codec = video->stream_type == kStreamTypeHevc ? media::Codec::kHevc : media::Codec::kH264;
    video_->assembler = std::make_unique<media::VideoAccessUnitAssembler>(codec, publish, 0);
  }
  if (audio == nullptr) {
    audio_.reset();
  } else if (!audio_ || audio_->pid != audio->pid) {
    if (audio_) audio_->framer->flush();
    audio_.emplace();
    audio_->pid = audio->pid;
    audio_->framer = std::make_unique<media::AacFramer>(publish, 1);
  }
  core::log::info("program found", {{"stream", stream_->name()},
                                    {"video_pid", video ? video->pid : 0},
                                    {"audio_pid", audio ? audio->pid : 0}});
}

void TsIngest::on_pes(const PesPacket& pes) {
  if (!pes.pts) {
    // A frame without a time cannot be placed on the timeline.
    stream_->record_error(StreamError::kPes);
    return;
  }
  if (video_ && pes.pid == video_->pid) {
    const std::int64_t pts = video_->pts.unwrap(static_cast<std::uint64_t>(*pes.pts));
    const std::int64_t dts =
        pes.dts ? video_->dts.unwrap(static_cast<std::uint64_t>(*pes.dts)) : pts;
    // A PES carries whole access units (as encoders and H.222.0 practice have
    // it), so each is emitted as soon as its PES is complete.
    video_->assembler->push(pes.payload.bytes(), pts, dts, pes.arrival, true);
  } else if (audio_ && pes.pid == audio_->pid) {
    const std::int64_t pts = audio_->pts.unwrap(static_cast<std::uint64_t>(*pes.pts));
    audio_->framer->push(pes.payload.bytes(), pts, pes.arrival);
  }
}

void TsIngest::account_errors() {
  const TsDemuxerStats& now = demuxer_.stats();
  auto delta = [](std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; };
  if (auto d = delta(now.continuity_errors, seen_.continuity_errors)) {
    stream_->record_error(StreamError::kContinuity, d);
  }
  const std::uint64_t pes_now = now.pes_errors + now.pes_truncated + now.pes_oversized + now.psi_errors;
  const std::uint64_t pes_seen =
      seen_.pes_errors + seen_.pes_truncated + seen_.pes_oversized + seen_.psi_errors;
  if (auto d = delta(pes_now, pes_seen)) stream_->record_error(StreamError::kPes, d);
  // Bytes skipped out of sync count once per push that had to skip any.
  const std::uint64_t transport_now = now.transport_errors + now.scrambled +
                                      now.malformed_packets + now.resyncs +
                                      (now.bytes_skipped > seen_.bytes_skipped ? 1 : 0);
  const std::uint64_t transport_seen =
      seen_.transport_errors + seen_.scrambled + seen_.malformed_packets + seen_.resyncs;
  if (auto d = delta(transport_now, transport_seen)) stream_->record_error(StreamError::kTransport, d);
  seen_ = now;

  std::uint64_t bitstream = 0;
  if (video_) bitstream += video_->assembler->counters().bitstream_errors;
  if (audio_) bitstream += audio_->framer->counters().sync_errors;
  if (bitstream > seen_bitstream_errors_) {
    stream_->record_error(StreamError::kBitstream, bitstream - seen_bitstream_errors_);
  }
  seen_bitstream_errors_ = bitstream;
}

std::vector<media::MediaFrame> demux_ts(std::span<const std::uint8_t> ts, std::size_t chunk) {
  std::vector<media::MediaFrame> frames;
  auto stream = std::make_shared<LiveStream>("file", "file");
  auto sub = stream->hub().subscribe("file", std::size_t{1} << 20);
  {
    TsIngest ingest(stream);
    const auto now = std::chrono::system_clock::now();
    chunk = std::max<std::size_t>(chunk, 1);
    for (std::size_t i = 0; i < ts.size(); i += chunk) {
      ingest.push(ts.subspan(i, std::min(chunk, ts.size() - i)), now);
      while (auto f = sub->pop()) frames.push_back(std::move(*f));
    }
    ingest.finish();
  }
  while (auto f = sub->pop()) frames.push_back(std::move(*f));
  return frames;
}

}  // namespace mirror::ingest
