#include "package/hls/track_packager.h"

#include "core/logging.h"

#include <algorithm>
#include <limits>

namespace mirror::package::hls {

bool TrackPackager::configure(const media::CodecConfigPtr& config) {
  if (!config) return false;
  if (config_ && config_->same_setup(*config)) {
    config_ = config;
    return true;
  }
  auto init = cmaf::write_init_segment(*config);
  if (!init) {
    core::log::warn("track cannot be packaged",
                    {{"rendition", store_->rendition()}, {"error", init.error().message}});
    return false;
  }
  config_ = config;
  store_->set_init(core::SharedBytes::from_string(std::move(*init)));
  return true;
}

void TrackPackager::begin_segment(std::int64_t start, bool discontinuity,
                                  std::chrono::system_clock::time_point program_date_time) {
  store_->begin_segment(discontinuity, program_date_time);
  segment_open_ = true;
  segment_start_ = start;
  end_time_ = start;
  segment_parts_ = 0;
}

void TrackPackager::begin_part(std::int64_t start, bool independent) {
  store_->begin_part(independent);
  part_open_ = true;
  part_start_ = start;
  chunk_start_ = start;
  ++segment_parts_;
}

void TrackPackager::add(const media::MediaFrame& frame, std::uint32_t duration) {
  if (samples_.empty()) {
    chunk_start_ = frame.dts;
  } else {
    // The sample before this one in the chunk lasts until this one begins:
    // durations are the differences of decode times wherever both are known.
    const std::int64_t step = frame.dts - last_dts_;
    // Audio keeps its own (a gap in the audio is not a longer frame).
    if (store_->kind() == media::TrackKind::kVideo && step > 0 &&
        step <= std::numeric_limits<std::uint32_t>::max()) {
      samples_.back().duration = static_cast<std::uint32_t>(step);
    }
  }
  last_dts_ = frame.dts;
  cmaf::Sample s;
  s.size = static_cast<std::uint32_t>(frame.payload.size());
  s.duration = duration;
  const std::int64_t offset = frame.pts - frame.dts;
  s.composition_offset = static_cast<std::int32_t>(
      std::clamp<std::int64_t>(offset, std::numeric_limits<std::int32_t>::min(),
                               std::numeric_limits<std::int32_t>::max()));
  s.keyframe = frame.keyframe;
  s.leading_undecodable = frame.rasl && !frame.keyframe;
  samples_.push_back(s);
  payloads_.emplace_back(frame.payload);
  end_time_ = frame.dts + duration;
  last_arrival_ = frame.arrival;
}

void TrackPackager::flush() {
  if (samples_.empty() || !part_open_) return;
  std::vector<core::SharedBytes> chunk;
  chunk.reserve(1 + payloads_.size());
  // The decode time never goes below zero in the file, whatever the source did.
  const auto base = static_cast<std::uint64_t>(std::max<std::int64_t>(0, chunk_start_));
  chunk.push_back(core::SharedBytes::from_string(
      cmaf::write_fragment_header(++sequence_, base, samples_, store_->kind())));
  for (auto& p : payloads_) chunk.push_back(std::move(p));
  samples_.clear();
  payloads_.clear();
  store_->append(std::move(chunk));
}

void TrackPackager::close_part(bool next_starts_segment) {
  if (!part_open_) return;
  flush();
  const double timescale = config_ ? config_->timescale : 90000.0;
  // A source whose clock stepped back inside the part (and was not caught as
  // a break) must not make the playlist lie: never a negative duration.
  const std::int64_t length = std::max<std::int64_t>(0, end_time_ - part_start_);
  store_->close_part(static_cast<double>(length) / timescale, next_starts_segment);
  part_open_ = false;
  if (publish_delay_ != nullptr && last_arrival_.time_since_epoch().count() != 0) {
    publish_delay_->observe(
        std::chrono::duration<double>(std::chrono::system_clock::now() - last_arrival_).count());
  }
}

void TrackPackager::close_segment() {
  if (part_open_) close_part(true);
  if (!segment_open_) return;
  store_->close_segment();
  segment_open_ = false;
}

}  // namespace mirror::package::hls
