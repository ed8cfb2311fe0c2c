// TrackPackager: turns one track's frames into CMAF chunks in a PartStore.
// It owns the fMP4 state of the track (init segment per codec configuration,
// fragment sequence numbers) and the samples not yet written; the caller
// (StreamPackager) decides where segments and parts begin and end.
//
// A chunk (one moof + mdat) is written for the frames gathered between two
// flush() calls, so a part is one or more chunks and a reader streaming the
// part being written gets each frame as soon as it is packaged. The mdat
// payloads are the frames' own buffers.
//
// Threads: the packaging thread of its stream only.
#pragma once

#include "core/metrics.h"
#include "media/media_frame.h"
#include "package/cmaf/fmp4_writer.h"
#include "package/hls/part_store.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace mirror::package::hls {

class TrackPackager {
 public:
  explicit TrackPackager(std::shared_ptr<PartStore> store) : store_(std::move(store)) {}

  // Observes, per published part, the seconds from the arrival of its last
  // frame at the ingest to the release of the requests waiting for it.
  void set_publish_delay(core::Histogram* histogram) { publish_delay_ = histogram; }

  PartStore& store() { return *store_; }

  // Writes a new init segment when `config` sets up the decoder differently
  // from the current one. False (nothing changes) when it cannot be packaged.
  bool configure(const media::CodecConfigPtr& config);
  const media::CodecConfigPtr& config() const { return config_; }
  // The next configure() writes a new init segment even for the same set-up
  // (a timeline break starts afresh: new EXT-X-MAP after EXT-X-DISCONTINUITY).
  void forget_config() { config_.reset(); }
  bool configured() const { return config_ != nullptr; }

  bool segment_open() const { return segment_open_; }
  bool part_open() const { return part_open_; }
  // Decode time (track timescale) where the open part / segment began.
  std::int64_t part_start() const { return part_start_; }
  std::int64_t segment_start() const { return segment_start_; }
  // Decode time just after the last sample added.
  std::int64_t end_time() const { return end_time_; }
  std::size_t segment_parts() const { return segment_parts_; }

  void begin_segment(std::int64_t start, bool discontinuity,
                     std::chrono::system_clock::time_point program_date_time);
  void begin_part(std::int64_t start, bool independent);
  // Queues a sample of the open part; `duration` (track timescale) is what it
  // lasts if it ends its chunk: a sample followed by another in the same
  // chunk lasts until that one's decode time.
  void add(const media::MediaFrame& frame, std::uint32_t duration);
  // Writes the queued samples as one chunk.
  void flush();
  // Flushes and publishes the open part.
  void close_part(bool next_starts_segment);
  void close_segment();

 private:
  std::shared_ptr<PartStore> store_;
  media::CodecConfigPtr config_;
  std::uint32_t sequence_ = 0;
  bool segment_open_ = false;
  bool part_open_ = false;
  std::int64_t segment_start_ = 0;
  std::int64_t part_start_ = 0;
  std::int64_t end_time_ = 0;
  std::size_t segment_parts_ = 0;
  std::int64_t chunk_start_ = 0;
  std::int64_t last_dts_ = 0;  // of the last sample queued
  std::vector<cmaf::Sample> samples_;
  std::vector<core::SharedBytes> payloads_;
  std::chrono::system_clock::time_point last_arrival_{};
  core::Histogram* publish_delay_ = nullptr;
};

}  // namespace mirror::package::hls
