#include "transcode/stream_transcoder.h"

#include "core/logging.h"
#include "media/picture_reference.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>
}

#include <algorithm>
#include <cmath>

namespace mirror::transcode {
namespace {

using media::k90kHz;
using media::to_90k;
// A source with audio and no video for this long is audio only. Long enough
// for a source whose first keyframe comes late (a long GOP).
constexpr std::int64_t kAudioOnlyAfterSeconds = 5;

core::log::KeyedLogLimiter& transcode_log() {
  static auto* const limiter = new core::log::KeyedLogLimiter(std::chrono::seconds(10));
  return *limiter;  // immortal, like the logger
}

}  // namespace

const char* transcode_path_name(TranscodePath path) {
  switch (path) {
    case TranscodePath::kCpu:
      return "cpu";
    case TranscodePath::kGpu:
      return "gpu";
    case TranscodePath::kHybrid:
      return "hybrid";
  }
  return "cpu";
}

struct StreamTranscoder::Rendition {
  std::size_t index = 0;
  RenditionSpec spec;
  FrameCadence cadence;
  int keyframe_every = 15;
  std::optional<std::int64_t> last_slot;
  // The source keyframe the next encoded picture stands for: it is encoded
  // as a keyframe carrying it (MediaFrame::source_keyframe).
  std::optional<media::MediaFrame::SourceKeyframe> pending_origin;
  SlotClaims claims;
  std::unique_ptr<PictureScaler> scaler;
  std::unique_ptr<VideoEncoder> encoder;
  bool failed = false;
  bool nvenc_refused = false;
};

StreamTranscoder::StreamTranscoder(std::string stream, TranscodeSettings settings, Placement placement,
                                   Outputs outputs, core::Histogram* latency)
    : stream_(std::move(stream)),
      settings_(std::move(settings)),
      placement_(std::move(placement)),
      outputs_(std::move(outputs)),
      latency_(latency),
      thumbnails_(settings_.thumbnail_interval) {
  av::install_log_bridge();
  const std::size_t n = settings_.renditions.size();
  discontinuity_pending_.assign(n, false);
  finished_.assign(n, false);
  status_.path = transcode_path_name(placement_.path);
  status_.video_state = "waiting";
  status_.audio_state = "waiting";
  for (std::size_t i = 0; i < n; ++i) {
    auto r = std::make_unique<Rendition>();
    r->index = i;
    r->spec = settings_.renditions[i];
    renditions_.push_back(std::move(r));
    RenditionStatus rs;
    rs.name = settings_.renditions[i].name;
    rs.width = settings_.renditions[i].width;
    rs.height = settings_.renditions[i].height;
    rs.bitrate = settings_.renditions[i].bitrate;
    rs.state = "starting";
    status_.renditions.push_back(std::move(rs));
  }
}

StreamTranscoder::~StreamTranscoder() { thumbnails_.close(); }

void StreamTranscoder::set_video_state(std::string state, std::string reason) {
  std::lock_guard lock(status_mutex_);
  status_.video_state = std::move(state);
  status_.video_reason = std::move(reason);
}

void StreamTranscoder::set_audio_state(std::string state, std::string reason) {
  std::lock_guard lock(status_mutex_);
  status_.audio_state = std::move(state);
  status_.audio_reason = std::move(reason);
}

TranscoderStatus StreamTranscoder::status() const {
  TranscoderStatus s;
  {
    std::lock_guard lock(status_mutex_);
    s = status_;
  }
  s.frames_in = frames_in_.load(std::memory_order_relaxed);
  s.pictures_decoded = decoded_.load(std::memory_order_relaxed);
  s.pictures_not_decoded = not_decoded_.load(std::memory_order_relaxed);
  s.decode_errors = decode_errors_.load(std::memory_order_relaxed);
  s.audio_errors = audio_errors_.load(std::memory_order_relaxed);
  s.dropped_gops = dropped_gops_.load(std::memory_order_relaxed);
  s.breaks = breaks_.load(std::memory_order_relaxed);
  s.gpu_fallbacks = gpu_fallbacks_.load(std::memory_order_relaxed);
  return s;
}

void StreamTranscoder::on_frame(const media::MediaFrame& frame) {
  frames_in_.fetch_add(1, std::memory_order_relaxed);
  // Backwards by more than a second, or forward by more than a hole that is
  // filled (and not to where the other track is: an audio gap): the source
  // restarted without saying so.
  const bool jump = timeline_.jumped(frame);
  if (frame.discontinuity || jump) {
    if (decoder_ || audio_) break_all();
    // This frame starts both tracks' new timeline.
    timeline_.restart(frame);
  }
  if (frame.kind == media::TrackKind::kVideo) {
    on_video(frame);
  } else {
    on_audio(frame);
  }
}

void StreamTranscoder::on_input_dropped() {
  dropped_gops_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(status_mutex_);
    status_.last_drop = std::chrono::steady_clock::now();
  }
  // Pictures in flight belong to the GOP whose rest is gone.
  if (decoder_) decoder_->discard();
  need_keyframe_ = true;
}

std::optional<media::MediaFrame::SourceKeyframe> StreamTranscoder::note_source_frame(const media::MediaFrame& frame) {
  const std::int64_t step = last_source_dts_ && frame.dts > *last_source_dts_ ? frame.dts - *last_source_dts_ : 0;
  last_source_dts_ = frame.dts;
  if (!frame.keyframe) return std::nullopt;
  return media::MediaFrame::SourceKeyframe{frame.dts, step};
}

void StreamTranscoder::on_video_skipped(const media::MediaFrame& frame) {
  not_decoded_.fetch_add(1, std::memory_order_relaxed);
  const auto origin = note_source_frame(frame);
  if (origin) {
    for (auto& r : renditions_) r->pending_origin = origin;
  }
  if (!cadence_started_) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& r : renditions_) {
    if (r->failed || finished_[r->index] || !r->encoder || !r->last_slot || !r->scaler) continue;
    const AVFrame* last = r->scaler->last_output();
    if (last == nullptr) continue;
    const std::int64_t slot = r->cadence.slot_of(frame.pts);
    // Not past a real picture's slot: bounded by kMaxFillSeconds like any hole.
    const double max_fill = static_cast<double>(kMaxFillSeconds) * r->cadence.output_rate().value();
    if (slot <= *r->last_slot || static_cast<double>(slot - *r->last_slot) > max_fill) continue;
    std::uint64_t repeated = 0;
    for (std::int64_t s = *r->last_slot + 1; s <= slot; ++s) {
      // The keyframe's own slot, after the repeats that fill up to it.
      const bool keyframe = r->pending_origin.has_value() && s == slot;
      (void)r->encoder->encode(*last, s, r->cadence.time_of(s), keyframe, frame.arrival, now, r->pending_origin);
      if (keyframe) r->pending_origin.reset();
      r->last_slot = s;
      ++repeated;
    }
    r->claims.output(slot);
    std::lock_guard lock(status_mutex_);
    status_.renditions[r->index].duplicated += repeated;
  }
}

bool StreamTranscoder::open_decoder(const media::MediaFrame& frame) {
  VideoDecoder::Options options;
  // Frame threads cost CPU (5-20 % more per picture) and a picture of delay
  // each: a decoder gets as many as its source needs, one per 1080p60 of
  // pixel rate, within the pool's share (settings_.decoder_threads).
  const auto& c = *frame.config;
  const double pixel_rate = static_cast<double>(c.width) * c.height * (c.frame_rate > 0 ? c.frame_rate : 30.0);
  const int needed = std::max(1, static_cast<int>(std::ceil(pixel_rate / (1920.0 * 1080.0 * 60.0) - 1e-9)));
  options.threads = std::clamp(needed, 1, std::max(1, settings_.decoder_threads));
  if (placement_.path != TranscodePath::kCpu && placement_.gpu && !renditions_.empty()) {
    // NVDEC scales to the first rendition's size (fitted, square pixels).
    options.cuda_device = placement_.gpu->cuda();
    options.keep_on_gpu = placement_.path == TranscodePath::kGpu;
    const auto& first = renditions_.front()->spec;
    const FitRect fit = fit_inside(frame.config->width, frame.config->height, 1, 1, first.width, first.height);
    options.resize_width = fit.width;
    options.resize_height = fit.height;
  }
  auto decoder = VideoDecoder::open(*frame.config, options);
  if (!decoder && options.cuda_device != nullptr) {
    core::log::warn("NVDEC cannot decode this stream; decoding on the CPU",
                    {{"stream", stream_}, {"reason", decoder.error().message}});
    gpu_fallbacks_.fetch_add(1, std::memory_order_relaxed);
    placement_.path = TranscodePath::kCpu;
    options.cuda_device = nullptr;
    decoder = VideoDecoder::open(*frame.config, options);
  }
  if (!decoder) {
    skipped_video_config_ = frame.config;
    set_video_state("skipped", "the source's video cannot be decoded: " + decoder.error().message);
    core::log::warn("video not transcoded", {{"stream", stream_}, {"reason", decoder.error().message}});
    for (std::size_t i = 1; i < renditions_.size(); ++i) {
      if (!finished_[i]) {
        finished_[i] = true;
        outputs_.finish(i);
      }
    }
    return false;
  }
  skipped_video_config_.reset();
  decoder_ = std::move(*decoder);
  decoder_config_ = frame.config;
  {
    std::lock_guard lock(status_mutex_);
    status_.path = transcode_path_name(placement_.path);
    status_.video_state = "running";
    status_.video_reason.clear();
  }
  return true;
}

void StreamTranscoder::on_video(const media::MediaFrame& frame) {
  video_seen_ = true;
  // Each source keyframe is remembered until its picture comes out of the
  // decoder, whose rendition pictures are then keyframes standing for it.
  if (const auto origin = note_source_frame(frame)) {
    source_keyframes_.emplace_back(frame.pts, *origin);
    while (source_keyframes_.size() > 16) source_keyframes_.pop_front();
  }
  if (audio_only_ || !frame.config || frame.payload.size() == 0) {
    not_decoded_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (skipped_video_config_ && skipped_video_config_->same_setup(*frame.config)) {
    not_decoded_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (decoder_ && !decoder_config_->same_setup(*frame.config)) {
    // New parameter sets or another codec: everything is rebuilt.
    break_all();
  }
  if (!decoder_) {
    if (!frame.keyframe || !open_decoder(frame)) {
      not_decoded_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    need_keyframe_ = false;
  }
  if (need_keyframe_) {
    if (!frame.keyframe) {
      not_decoded_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    need_keyframe_ = false;
  }
  const auto ref = media::picture_reference(frame.codec, frame.payload.bytes());
  if (ref.known && frame.codec == media::Codec::kHevc) max_temporal_id_ = std::max(max_temporal_id_, ref.temporal_id);
  if (!cadence_started_ && frame.keyframe) {
    // With the stream's own frame rate known, the grid starts here and
    // pictures can be left undecoded from the start.
    const Rate source = rate_from_fps(decoder_config_->frame_rate);
    if (source.valid()) start_cadence(frame.pts, source);
  }
  if (cadence_started_) {
    // Which renditions still need a picture for this one's slot.
    bool wanted = false;
    for (const auto& r : renditions_) {
      if (r->failed || finished_[r->index]) continue;
      const std::int64_t slot = r->cadence.slot_of(frame.pts);
      wanted |= (!r->last_slot || slot > *r->last_slot) && r->claims.free(slot);
    }
    const bool disposable = ref.known && !ref.reference && !frame.keyframe &&
                            (frame.codec != media::Codec::kHevc || ref.temporal_id >= max_temporal_id_);
    if (disposable && !wanted) {
      // Nothing refers to this picture and its slot has one already.
      not_decoded_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    for (const auto& r : renditions_) r->claims.claim(r->cadence.slot_of(frame.pts));
  }
  arrivals_.emplace_back(frame.pts, frame.arrival);
  while (arrivals_.size() > 128) arrivals_.pop_front();
  completed_by_ = frame.received.time_since_epoch().count() != 0 ? frame.received : std::chrono::steady_clock::now();
  decoder_->decode(frame, [this](AVFrame* picture) { on_picture(picture); });
  decode_errors_.store(video_errors_before_ + decoder_->errors(), std::memory_order_relaxed);
}

void StreamTranscoder::start_cadence(std::int64_t origin90k, Rate source) {
  for (auto& r : renditions_) {
    r->cadence = FrameCadence(source, r->spec.max_fps);
    r->cadence.restart(origin90k);
    r->keyframe_every = r->cadence.frames_per_keyframe(settings_.keyframe_interval);
    r->last_slot.reset();
    r->claims.clear();
    std::lock_guard lock(status_mutex_);
    status_.renditions[r->index].frame_rate = r->cadence.output_rate().value();
  }
  cadence_started_ = true;
}

std::chrono::system_clock::time_point StreamTranscoder::arrival_of(std::int64_t pts) const {
  for (auto it = arrivals_.rbegin(); it != arrivals_.rend(); ++it) {
    if (it->first == pts) return it->second;
  }
  return arrivals_.empty() ? std::chrono::system_clock::now() : arrivals_.back().second;
}

void StreamTranscoder::on_picture(AVFrame* picture) {
  decoded_.fetch_add(1, std::memory_order_relaxed);
  if (picture->key_frame) {
    latest_keyframe_ = av::ref_frame(picture);
    thumbnails_.set_picture_available();
  }
  if (thumbnails_.wanted()) make_thumbnail();
  if (!cadence_started_) {
    // No frame rate in the stream's timing information: it is measured from
    // the spacing of the pictures seen so far, and the grid starts here.
    Rate source;
    if (arrivals_.size() >= 2) {
      std::int64_t step = 0;
      for (std::size_t i = 1; i < arrivals_.size(); ++i) {
        const std::int64_t d = arrivals_[i].first - arrivals_[i - 1].first;
        if (d > 0 && (step == 0 || d < step)) step = d;
      }
      if (step > 0 && step < k90kHz) source = rate_from_fps(static_cast<double>(k90kHz) / step);
    }
    start_cadence(picture->pts, source);
  }
  for (auto it = source_keyframes_.begin(); it != source_keyframes_.end(); ++it) {
    if (it->first != picture->pts) continue;
    for (auto& r : renditions_) r->pending_origin = it->second;
    source_keyframes_.erase(source_keyframes_.begin(), it + 1);
    break;
  }
  const auto arrival = arrival_of(picture->pts);
  system_copy_ready_ = false;
  for (auto& r : renditions_) {
    if (r->failed || finished_[r->index]) continue;
    const std::int64_t slot = r->cadence.slot_of(picture->pts);
    if (r->last_slot && slot <= *r->last_slot) continue;  // the slot is filled: a surplus picture
    encode_rendition(*r, *picture, slot, arrival);
    r->claims.output(slot);
  }
}

core::Result<const AVFrame*> StreamTranscoder::prepare(Rendition& r, const AVFrame& picture) {
  const AVFrame* cpu_picture = &picture;
  if (picture.hw_frames_ctx != nullptr) {
    // NVDEC made it at the first rendition's size: NVENC takes it as it is.
    const bool nvenc = placement_.path == TranscodePath::kGpu && placement_.gpu &&
                       placement_.gpu->nvenc() && !r.nvenc_refused;
    if (nvenc && r.index == 0) return &picture;
    if (!system_copy_ready_) {
      if (!system_copy_) system_copy_ = av::make_frame();
      if (!system_copy_) return core::Error(core::ErrorCode::kInternal, "out of memory");
      av_frame_unref(system_copy_.get());
      if (const int ret = av_hwframe_transfer_data(system_copy_.get(), &picture, 0); ret < 0) {
        return core::Error(core::ErrorCode::kServiceUnavailable,
                           "cannot copy a picture from the GPU: " + av::error_text(ret));
      }
      av_frame_copy_props(system_copy_.get(), &picture);
      system_copy_ready_ = true;
    }
    cpu_picture = system_copy_.get();
  }
  if (!r.scaler) r.scaler = std::make_unique<PictureScaler>(r.spec.width, r.spec.height);
  return r.scaler->scale(*cpu_picture);
}

bool StreamTranscoder::open_encoder(Rendition& r, const AVFrame& picture) {
  VideoEncoder::Options o;
  o.width = picture.width;
  o.height = picture.height;
  o.rate = r.cadence.output_rate();
  o.bitrate = r.spec.bitrate;
  o.profile = settings_.profile;
  o.keyframe_every = r.keyframe_every;
  o.cuda_frames = picture.hw_frames_ctx;
  o.color_primaries = picture.color_primaries;
  o.color_trc = picture.color_trc;
  o.colorspace = picture.colorspace;
  const std::size_t index = r.index;
  auto encoder = VideoEncoder::open(o, [this, index](media::MediaFrame f, std::chrono::steady_clock::time_point started) {
    if (latency_ != nullptr && started.time_since_epoch().count() != 0) {
      latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    {
      std::lock_guard lock(status_mutex_);
      ++status_.renditions[index].frames;
    }
    publish(index, std::move(f));
  });
  if (!encoder && o.cuda_frames != nullptr) {
    // NVENC refused a session (its limit, or no NVENC): this rendition takes
    // the hybrid path from its next picture on.
    core::log::warn("NVENC refused a session; the rendition is encoded with x264",
                    {{"stream", stream_}, {"rendition", r.spec.name}, {"reason", encoder.error().message}});
    gpu_fallbacks_.fetch_add(1, std::memory_order_relaxed);
    r.nvenc_refused = true;
    std::lock_guard lock(status_mutex_);
    status_.path = transcode_path_name(TranscodePath::kHybrid);
    return false;
  }
  if (!encoder) {
    r.failed = true;
    core::log::warn("rendition not encoded", {{"stream", stream_}, {"rendition", r.spec.name},
                                              {"reason", encoder.error().message}});
    std::lock_guard lock(status_mutex_);
    status_.renditions[index].state = "failed";
    status_.renditions[index].reason = encoder.error().message;
    return false;
  }
  r.encoder = std::move(*encoder);
  std::lock_guard lock(status_mutex_);
  auto& rs = status_.renditions[index];
  rs.state = "running";
  rs.reason.clear();
  rs.encoder = r.encoder->nvenc() ? "h264_nvenc" : "libx264";
  rs.width = picture.width;
  rs.height = picture.height;
  return true;
}

void StreamTranscoder::encode_rendition(Rendition& r, const AVFrame& picture, std::int64_t slot,
                                        std::chrono::system_clock::time_point arrival) {
  auto prepared = prepare(r, picture);
  if (!prepared) {
    transcode_log().log(stream_ + "/" + r.spec.name, core::log::Level::kWarn, "picture not scaled",
                        {{"stream", stream_}, {"rendition", r.spec.name}, {"reason", prepared.error().message}});
    return;
  }
  if (!r.encoder && !open_encoder(r, **prepared)) return;
  // A hole in the source is filled with this picture, so that the rendition
  // keeps its rate; a hole longer than kMaxFillSeconds is left as a jump.
  std::int64_t first = r.last_slot ? *r.last_slot + 1 : slot;
  const double max_fill = static_cast<double>(kMaxFillSeconds) * r.cadence.output_rate().value();
  if (static_cast<double>(slot - first) > max_fill) first = slot;
  std::uint64_t repeated = 0;
  for (std::int64_t s = first; s <= slot; ++s) {
    // A keyframe where the source has one (and first): the rendition's
    // segments then start where the source's do, with the same numbers.
    const bool keyframe = !r.last_slot || (r.pending_origin.has_value() && s == slot);
    auto st = r.encoder->encode(**prepared, s, r.cadence.time_of(s), keyframe, arrival, completed_by_, r.pending_origin);
    if (keyframe) r.pending_origin.reset();
    if (!st) {
      transcode_log().log(stream_ + "/" + r.spec.name + "/encode", core::log::Level::kWarn,
                          "picture not encoded",
                          {{"stream", stream_}, {"rendition", r.spec.name}, {"reason", st.error().message}});
    }
    if (s < slot) ++repeated;
    r.last_slot = s;
  }
  if (repeated > 0) {
    std::lock_guard lock(status_mutex_);
    status_.renditions[r.index].duplicated += repeated;
  }
}

void StreamTranscoder::make_thumbnail() {
  if (!latest_keyframe_ || renditions_.empty()) return;
  if (!jpeg_) jpeg_ = std::make_unique<JpegEncoder>(renditions_[0]->spec.width, renditions_[0]->spec.height);
  auto jpeg = jpeg_->encode(*latest_keyframe_);
  if (jpeg) {
    thumbnails_.publish(std::move(*jpeg));
  } else {
    transcode_log().log(stream_ + "/thumbnail", core::log::Level::kWarn, "thumbnail not made",
                        {{"stream", stream_}, {"reason", jpeg.error().message}});
  }
}

void StreamTranscoder::on_audio(const media::MediaFrame& frame) {
  if (!frame.config || frame.codec != media::Codec::kAac || frame.payload.size() == 0) {
    set_audio_state("skipped", std::string("the source's audio codec ") + media::codec_name(frame.codec) +
                                   " is not transcoded (AAC only)");
    return;
  }
  if (!video_seen_ && !audio_only_) {
    if (!first_audio_pts_) first_audio_pts_ = frame.pts;
    if (frame.pts - *first_audio_pts_ > kAudioOnlyAfterSeconds * static_cast<std::int64_t>(frame.config->timescale)) {
      // No video: rendition 0 is audio only, the others have nothing to carry.
      audio_only_ = true;
      set_video_state("absent");
      for (std::size_t i = 1; i < renditions_.size(); ++i) {
        if (!finished_[i]) {
          finished_[i] = true;
          outputs_.finish(i);
        }
      }
    }
  }
  if (audio_ && !audio_config_->same_setup(*frame.config)) drain_audio();
  if (!audio_) {
    AudioTranscoder::Options options;
    options.bitrate = settings_.audio_bitrate;
    options.sample_rate = settings_.audio_sample_rate;
    auto audio = AudioTranscoder::open(
        *frame.config, options, [this](media::MediaFrame f) { publish(0, std::move(f)); }, &meter_);
    if (!audio) {
      set_audio_state("skipped", audio.error().message);
      transcode_log().log(stream_ + "/audio", core::log::Level::kWarn, "audio not transcoded",
                          {{"stream", stream_}, {"reason", audio.error().message}});
      return;
    }
    audio_ = std::move(*audio);
    audio_config_ = frame.config;
    set_audio_state("running");
  }
  audio_->transcode(frame);
  audio_errors_.store(audio_errors_before_ + audio_->errors(), std::memory_order_relaxed);
}

void StreamTranscoder::publish(std::size_t index, media::MediaFrame frame) {
  if (index >= finished_.size() || finished_[index]) return;
  if (discontinuity_pending_[index]) {
    frame.discontinuity = true;
    discontinuity_pending_[index] = false;
  }
  outputs_.publish(index, std::move(frame));
}

void StreamTranscoder::drain_video() {
  // What comes out now was completed by the end of the input.
  completed_by_ = std::chrono::steady_clock::now();
  if (decoder_) {
    decoder_->drain([this](AVFrame* picture) { on_picture(picture); });
    video_errors_before_ += decoder_->errors();
  }
  for (auto& r : renditions_) {
    if (r->encoder) r->encoder->drain();
    r->encoder.reset();
    r->scaler.reset();
    r->last_slot.reset();
    r->claims.clear();
    r->failed = false;
  }
  decoder_.reset();
  decoder_config_.reset();
  cadence_started_ = false;
  need_keyframe_ = true;
  arrivals_.clear();
}

void StreamTranscoder::drain_audio() {
  if (audio_) {
    audio_->drain();
    audio_errors_before_ += audio_->errors();
  }
  audio_.reset();
  audio_config_.reset();
}

void StreamTranscoder::break_all() {
  breaks_.fetch_add(1, std::memory_order_relaxed);
  drain_video();
  drain_audio();
  timeline_.reset();
  skipped_video_config_.reset();
  std::fill(discontinuity_pending_.begin(), discontinuity_pending_.end(), true);
}

void StreamTranscoder::end() {
  drain_video();
  drain_audio();
  for (std::size_t i = 0; i < finished_.size(); ++i) {
    if (!finished_[i]) {
      finished_[i] = true;
      outputs_.finish(i);
    }
  }
  thumbnails_.close();
  std::lock_guard lock(status_mutex_);
  status_.video_state = status_.video_state == "running" ? "ended" : status_.video_state;
  status_.audio_state = status_.audio_state == "running" ? "ended" : status_.audio_state;
}

}  // namespace mirror::transcode
