#include "transcode/audio_transcoder.h"

#include "core/buffer_pool.h"
#include "media/aac.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cstring>

namespace mirror::transcode {
namespace {

core::Error audio_error(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

// Beyond this, a hole is a break of the timeline, not lost frames.
constexpr int kMaxSilenceSeconds = 5;

std::vector<double> bs1770_weights(const AVChannelLayout& layout) {
  std::vector<double> weights;
  for (int i = 0; i < layout.nb_channels; ++i) {
    switch (av_channel_layout_channel_from_index(&layout, static_cast<unsigned>(i))) {
      case AV_CHAN_LOW_FREQUENCY:
      case AV_CHAN_LOW_FREQUENCY_2:
        weights.push_back(0.0);
        break;
      case AV_CHAN_BACK_LEFT:
      case AV_CHAN_BACK_RIGHT:
      case AV_CHAN_SIDE_LEFT:
      case AV_CHAN_SIDE_RIGHT:
        weights.push_back(1.41);
        break;
      default:
        weights.push_back(1.0);
    }
  }
  return weights;
}

}  // namespace

AudioTranscoder::~AudioTranscoder() = default;

core::Result<std::unique_ptr<AudioTranscoder>> AudioTranscoder::open(const media::CodecConfig& source,
                                                                     const Options& options,
                                                                     FrameSink sink,
                                                                     AudioLevelMeter* meter) {
  if (source.codec != media::Codec::kAac || source.audio_specific_config.empty()) {
    return audio_error(std::string("no audio decoder for ") + media::codec_name(source.codec));
  }
  std::unique_ptr<AudioTranscoder> t(new AudioTranscoder(std::move(sink)));
  t->meter_ = meter;
  t->in_rate_ = source.sample_rate > 0 ? source.sample_rate : static_cast<int>(source.timescale);
  t->out_rate_ = options.sample_rate > 0 ? options.sample_rate : t->in_rate_;

  const AVCodec* decoder = avcodec_find_decoder(AV_CODEC_ID_AAC);
  const AVCodec* encoder = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (decoder == nullptr || encoder == nullptr) return audio_error("this FFmpeg has no AAC codec");
  t->decoder_.reset(avcodec_alloc_context3(decoder));
  t->encoder_.reset(avcodec_alloc_context3(encoder));
  t->packet_ = av::make_packet();
  t->decoded_ = av::make_frame();
  t->chunk_ = av::make_frame();
  if (!t->decoder_ || !t->encoder_ || !t->packet_ || !t->decoded_ || !t->chunk_) {
    return core::Error(core::ErrorCode::kInternal, "out of memory for an audio transcoder");
  }

  AVCodecContext* d = t->decoder_.get();
  const auto& asc = source.audio_specific_config;
  d->extradata = static_cast<std::uint8_t*>(av_mallocz(asc.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (d->extradata == nullptr) return core::Error(core::ErrorCode::kInternal, "out of memory");
  std::memcpy(d->extradata, asc.data(), asc.size());
  d->extradata_size = static_cast<int>(asc.size());
  d->pkt_timebase = AVRational{1, t->in_rate_};
  d->opaque = static_cast<av::CodecErrorCounter*>(t.get());
  if (const int ret = avcodec_open2(d, decoder, nullptr); ret < 0) {
    return audio_error("cannot open the AAC decoder: " + av::error_text(ret));
  }

  AVCodecContext* e = t->encoder_.get();
  e->sample_fmt = AV_SAMPLE_FMT_FLTP;
  e->sample_rate = t->out_rate_;
  e->ch_layout = AV_CHANNEL_LAYOUT_STEREO;
  e->bit_rate = options.bitrate;
  e->profile = FF_PROFILE_AAC_LOW;
  e->time_base = AVRational{1, t->out_rate_};
  // The AudioSpecificConfig goes into the init segment, not into each frame.
  e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  e->opaque = static_cast<av::CodecErrorCounter*>(t.get());
  if (const int ret = avcodec_open2(e, encoder, nullptr); ret < 0) {
    return audio_error("cannot open the AAC encoder: " + av::error_text(ret));
  }
  t->frame_size_ = e->frame_size > 0 ? e->frame_size : 1024;
  t->fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, t->frame_size_ * 4));
  if (!t->fifo_) return core::Error(core::ErrorCode::kInternal, "out of memory");

  auto config = std::make_shared<media::CodecConfig>();
  config->codec = media::Codec::kAac;
  config->kind = media::TrackKind::kAudio;
  config->timescale = static_cast<std::uint32_t>(t->out_rate_);
  config->codec_string = media::mp4a_codec_string(2);
  config->audio_specific_config.assign(e->extradata, e->extradata + e->extradata_size);
  config->sample_rate = t->out_rate_;
  config->channels = 2;
  config->audio_object_type = 2;
  config->samples_per_frame = t->frame_size_;
  t->output_config_ = std::move(config);
  return t;
}

bool AudioTranscoder::transcode(const media::MediaFrame& frame) {
  const auto payload = frame.payload.bytes();
  if (payload.empty()) return true;
  av_packet_unref(packet_.get());
  if (av_new_packet(packet_.get(), static_cast<int>(payload.size())) < 0) {
    ++refused_;
    return false;
  }
  std::memcpy(packet_->data, payload.data(), payload.size());
  packet_->pts = frame.pts;
  packet_->dts = frame.pts;
  last_arrival_ = frame.arrival;
  if (avcodec_send_packet(decoder_.get(), packet_.get()) < 0) {
    ++refused_;
    return false;
  }
  while (avcodec_receive_frame(decoder_.get(), decoded_.get()) == 0) {
    place(*decoded_);
    av_frame_unref(decoded_.get());
  }
  encode_available(false);
  return true;
}

void AudioTranscoder::place(const AVFrame& decoded) {
  if (decoded.nb_samples <= 0 || decoded.pts == AV_NOPTS_VALUE) return;
  const int channels = decoded.ch_layout.nb_channels;
  if (meter_ != nullptr && decoded.format == AV_SAMPLE_FMT_FLTP) {
    if (decoded.sample_rate != meter_rate_ || channels != meter_channels_) {
      meter_->configure(decoded.sample_rate, bs1770_weights(decoded.ch_layout));
      meter_rate_ = decoded.sample_rate;
      meter_channels_ = channels;
    }
    meter_->add(reinterpret_cast<const float* const*>(decoded.extended_data), channels,
                decoded.nb_samples);
  }
  if (!resampler_ || decoded.sample_rate != swr_rate_ || decoded.format != swr_format_ ||
      channels != swr_channels_) {
    resampler_.reset();
    SwrContext* swr = nullptr;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    // FFmpeg 5.1 takes the layouts as non-const pointers; it only reads them.
    if (swr_alloc_set_opts2(&swr, &stereo, AV_SAMPLE_FMT_FLTP, out_rate_,
                            const_cast<AVChannelLayout*>(&decoded.ch_layout),
                            static_cast<AVSampleFormat>(decoded.format), decoded.sample_rate, 0,
                            nullptr) < 0 ||
        swr_init(swr) < 0) {
      swr_free(&swr);
      ++refused_;
      return;
    }
    resampler_.reset(swr);
    swr_rate_ = decoded.sample_rate;
    swr_format_ = decoded.format;
    swr_channels_ = channels;
  }
  const std::int64_t expected = av_rescale(decoded.pts, out_rate_, in_rate_);
  if (!anchored_) {
    anchored_ = true;
    written_end_ = expected;
    fifo_start_ = expected;
  }
  const std::int64_t gap = expected - written_end_;
  if (gap > static_cast<std::int64_t>(out_rate_) * kMaxSilenceSeconds) {
    // A break rather than a hole: finish what is buffered, start over there.
    encode_available(true);
    written_end_ = expected;
    fifo_start_ = expected;
  } else if (gap > frame_size_) {
    // Lost source frames: silence keeps what follows in sync.
    std::vector<float> zeros(static_cast<std::size_t>(gap), 0.0F);
    void* planes[2] = {zeros.data(), zeros.data()};
    av_audio_fifo_write(fifo_.get(), planes, static_cast<int>(gap));
    written_end_ += gap;
    silence_samples_ += static_cast<std::uint64_t>(gap);
  } else if (gap < -2 * frame_size_) {
    return;  // already written: the source stepped back
  }
  const int capacity = swr_get_out_samples(resampler_.get(), decoded.nb_samples);
  if (capacity <= 0) return;
  left_.resize(static_cast<std::size_t>(capacity));
  right_.resize(static_cast<std::size_t>(capacity));
  std::uint8_t* out[2] = {reinterpret_cast<std::uint8_t*>(left_.data()),
                          reinterpret_cast<std::uint8_t*>(right_.data())};
  const int n = swr_convert(resampler_.get(), out, capacity,
                            const_cast<const std::uint8_t**>(decoded.extended_data), decoded.nb_samples);
  if (n <= 0) return;
  void* planes[2] = {left_.data(), right_.data()};
  av_audio_fifo_write(fifo_.get(), planes, n);
  written_end_ += n;
}

void AudioTranscoder::encode_available(bool final) {
  while (av_audio_fifo_size(fifo_.get()) >= frame_size_ ||
         (final && av_audio_fifo_size(fifo_.get()) > 0)) {
    if (chunk_->nb_samples == 0) {
      chunk_->nb_samples = frame_size_;
      chunk_->format = AV_SAMPLE_FMT_FLTP;
      chunk_->sample_rate = out_rate_;
      chunk_->ch_layout = AV_CHANNEL_LAYOUT_STEREO;
      if (av_frame_get_buffer(chunk_.get(), 0) < 0) {
        chunk_ = av::make_frame();
        return;
      }
    } else if (av_frame_make_writable(chunk_.get()) < 0) {
      return;
    }
    const int n = av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(chunk_->data), frame_size_);
    if (n < frame_size_) {
      av_samples_set_silence(chunk_->data, std::max(n, 0), frame_size_ - std::max(n, 0), 2,
                             AV_SAMPLE_FMT_FLTP);
    }
    chunk_->pts = fifo_start_;
    fifo_start_ += frame_size_;
    if (avcodec_send_frame(encoder_.get(), chunk_.get()) < 0) {
      ++refused_;
      continue;
    }
    receive();
  }
  if (final) written_end_ = fifo_start_;
}

void AudioTranscoder::receive() {
  while (avcodec_receive_packet(encoder_.get(), packet_.get()) == 0) {
    media::MediaFrame f;
    f.track = 1;
    f.kind = media::TrackKind::kAudio;
    f.codec = media::Codec::kAac;
    f.pts = packet_->pts;
    f.dts = packet_->pts;
    f.duration = packet_->duration > 0 ? packet_->duration : frame_size_;
    f.keyframe = true;
    f.config = output_config_;
    f.arrival = last_arrival_;
    auto buffer = core::BufferPool::global().acquire_owned(static_cast<std::size_t>(packet_->size));
    if (buffer && buffer.resize(static_cast<std::size_t>(packet_->size))) {
      std::memcpy(buffer.data(), packet_->data, static_cast<std::size_t>(packet_->size));
      f.payload = std::move(buffer).share();
      ++frames_out_;
      sink_(std::move(f));
    }
    av_packet_unref(packet_.get());
  }
}

void AudioTranscoder::drain() {
  encode_available(true);
  if (avcodec_send_frame(encoder_.get(), nullptr) >= 0) receive();
}

}  // namespace mirror::transcode
