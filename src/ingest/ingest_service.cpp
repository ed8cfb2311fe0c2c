#include "ingest/ingest_service.h"

#include "core/logging.h"
#include "ingest/rtp_ingest.h"
#include "ingest/srt/srt_listener.h"
#include "ingest/ts_ingest.h"

namespace mirror::ingest {

IngestService::IngestService(core::IngestionConfig config, state::StreamRegistry* registry,
                             core::MetricsRegistry& metrics)
    : config_(std::move(config)),
      metrics_(metrics),
      streams_(config_.max_streams, config_.reconnect_delay, registry) {
  ts_sinks_ = [](std::shared_ptr<LiveStream> stream) -> std::unique_ptr<ByteSink> {
    return std::make_unique<TsIngest>(std::move(stream));
  };
  streams_.on_stream_added([this](const auto& s) { add_stream_metrics(s); });
  streams_.on_stream_ended([this](const auto& s) { remove_stream_metrics(s); });
  metrics_.gauge("mirror_ingest_streams", "Streams known to ingest (any state)")
      .with_callback({}, [this] { return static_cast<double>(streams_.size()); });
}

IngestService::~IngestService() = default;

core::Status IngestService::start() {
  if (config_.srt.enabled) {
    srt_ = std::make_unique<SrtListener>(config_.srt, streams_, ts_sinks_, metrics_);
    if (auto st = srt_->start(); !st) {
      srt_.reset();
      return st;
    }
  }
  if (config_.rtp.enabled) {
    rtp_ = std::make_unique<RtpIngest>(config_.rtp, streams_, metrics_);
    if (auto st = rtp_->start(); !st) {
      rtp_.reset();
      if (srt_) srt_->stop(std::chrono::steady_clock::now());
      srt_.reset();
      return st;
    }
  }
  running_ = true;
  return core::Ok{};
}

void IngestService::stop(core::Deadline deadline) {
  running_ = false;
  if (srt_) srt_->stop(deadline);
  srt_.reset();
  if (rtp_) rtp_->stop();
  // Streams end while their listeners' objects still exist, then the listeners go.
  streams_.end_all();
  rtp_.reset();
}

int IngestService::srt_port() const { return srt_ ? srt_->port() : 0; }
int IngestService::rtp_port() const { return rtp_ ? rtp_->port() : 0; }

core::Health IngestService::health() const {
  core::Health h;
  std::size_t live = 0;
  for (const auto& s : streams_.list()) {
    if (s->state() == StreamState::kLive) ++live;
  }
  h.details = {{"streams", streams_.size()},
               {"live", live},
               {"max_streams", config_.max_streams},
               {"srt", {{"enabled", config_.srt.enabled},
                        {"port", srt_ ? srt_->port() : 0},
                        {"connections", srt_ ? srt_->connection_count() : 0}}},
               {"rtp", {{"enabled", config_.rtp.enabled}, {"port", rtp_ ? rtp_->port() : 0}}}};
  if (!running_) {
    h.status = core::HealthStatus::kUnhealthy;
    h.message = "stopped";
  } else {
    h.message = std::to_string(live) + " live stream(s)";
  }
  return h;
}

namespace {
const std::pair<const char*, const char*> kRtpCounters[] = {
    {"mirror_rtp_packets_received_total", "packets_received"},
    {"mirror_rtp_packets_lost_total", "packets_lost"},
    {"mirror_rtp_packets_reordered_total", "packets_reordered"},
    {"mirror_rtp_packets_duplicate_total", "packets_duplicate"}};

std::vector<std::string> labels(const std::shared_ptr<LiveStream>& s) { return {s->name()}; }
}  // namespace

void IngestService::add_stream_metrics(const std::shared_ptr<LiveStream>& s) {
  std::weak_ptr<LiveStream> w = s;
  auto read = [w](auto fn) {
    return [w, fn]() -> double {
      auto p = w.lock();
      return p ? fn(*p) : 0.0;
    };
  };
  metrics_.counter("mirror_stream_bytes_total", "Bytes received from the publisher", {"stream"})
      .with_callback(labels(s), read([](LiveStream& x) { return double(x.bytes()); }));
  auto& frames = metrics_.counter("mirror_stream_frames_total", "Frames ingested, by kind",
                                  {"stream", "kind"});
  frames.with_callback({s->name(), "video"},
                       read([](LiveStream& x) { return double(x.video_frames()); }));
  frames.with_callback({s->name(), "audio"},
                       read([](LiveStream& x) { return double(x.audio_frames()); }));
  metrics_.counter("mirror_stream_keyframes_total", "Video keyframes ingested", {"stream"})
      .with_callback(labels(s), read([](LiveStream& x) { return double(x.keyframes()); }));
  metrics_.gauge("mirror_stream_bitrate_bps", "Ingest bitrate over the last second", {"stream"})
      .with_callback(labels(s), read([](LiveStream& x) { return x.bitrate_bps(1); }));
  auto& errors = metrics_.counter("mirror_stream_errors_total", "Ingest errors, by kind",
                                  {"stream", "kind"});
  for (int k = 0; k < static_cast<int>(StreamError::kCount); ++k) {
    auto kind = static_cast<StreamError>(k);
    errors.with_callback({s->name(), stream_error_name(kind)},
                         read([kind](LiveStream& x) { return double(x.errors(kind)); }));
  }
  auto link = [read](const char* field) {
    return read([field](LiveStream& x) {
      auto j = x.link_stats();
      return j.contains(field) ? j[field].get<double>() : 0.0;
    });
  };
  if (s->protocol() == "srt") {
    metrics_.gauge("mirror_srt_rtt_seconds", "SRT round-trip time", {"stream"})
        .with_callback(labels(s), [rtt = link("rtt_ms")] { return rtt() / 1000.0; });
    metrics_.gauge("mirror_srt_receive_buffer_seconds", "SRT receive buffer fill", {"stream"})
        .with_callback(labels(s), [b = link("receive_buffer_ms")] { return b() / 1000.0; });
    metrics_.gauge("mirror_srt_receive_rate_bps", "SRT receive rate", {"stream"})
        .with_callback(labels(s), [r = link("receive_rate_mbps")] { return r() * 1e6; });
    const std::pair<const char*, const char*> packet_counters[] = {
        {"mirror_srt_packets_received_total", "packets_received"},
        {"mirror_srt_packets_lost_total", "packets_lost"},
        {"mirror_srt_packets_retransmitted_total", "packets_retransmitted"},
        {"mirror_srt_packets_dropped_total", "packets_dropped"}};
    for (const auto& [metric, field] : packet_counters) {
      metrics_.counter(metric, std::string("SRT ") + field, {"stream"})
          .with_callback(labels(s), link(field));
    }
  } else if (s->protocol() == "rtp") {
    for (const auto& [metric, field] : kRtpCounters) {
      metrics_.counter(metric, std::string("RTP ") + field, {"stream"})
          .with_callback(labels(s), link(field));
    }
    metrics_.gauge("mirror_rtp_jitter_seconds", "RTP interarrival jitter (RFC 3550)", {"stream"})
        .with_callback(labels(s), [j = link("jitter_ms")] { return j() / 1000.0; });
  }
}

void IngestService::remove_stream_metrics(const std::shared_ptr<LiveStream>& s) {
  metrics_.counter("mirror_stream_bytes_total", "", {"stream"}).remove(labels(s));
  for (const char* kind : {"video", "audio"}) {
    metrics_.counter("mirror_stream_frames_total", "", {"stream", "kind"}).remove({s->name(), kind});
  }
  metrics_.counter("mirror_stream_keyframes_total", "", {"stream"}).remove(labels(s));
  metrics_.gauge("mirror_stream_bitrate_bps", "", {"stream"}).remove(labels(s));
  for (int k = 0; k < static_cast<int>(StreamError::kCount); ++k) {
    metrics_.counter("mirror_stream_errors_total", "", {"stream", "kind"})
        .remove({s->name(), stream_error_name(static_cast<StreamError>(k))});
  }
  if (s->protocol() == "srt") {
    for (const char* g : {"mirror_srt_rtt_seconds", "mirror_srt_receive_buffer_seconds",
                          "mirror_srt_receive_rate_bps"}) {
      metrics_.gauge(g, "", {"stream"}).remove(labels(s));
    }
    for (const char* c : {"mirror_srt_packets_received_total", "mirror_srt_packets_lost_total",
                          "mirror_srt_packets_retransmitted_total",
                          "mirror_srt_packets_dropped_total"}) {
      metrics_.counter(c, "", {"stream"}).remove(labels(s));
    }
  } else if (s->protocol() == "rtp") {
    for (const auto& [metric, field] : kRtpCounters) {
      metrics_.counter(metric, "", {"stream"}).remove(labels(s));
    }
    metrics_.gauge("mirror_rtp_jitter_seconds", "", {"stream"}).remove(labels(s));
  }
}

}  // namespace mirror::ingest
