// The ingest room as a Service: the stream table, the SRT listener and the RTP
// listener, plus the per-stream metrics. Streams appear when a publisher is
// admitted and leave when they end; their figures come and go with them.
// Threads: start/stop on the control thread; streams() is thread-safe.
#pragma once

#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "ingest/byte_sink.h"
#include "ingest/stream_table.h"

#include <memory>

namespace mirror::ingest {

class SrtListener;
class RtpIngest;

class IngestService final : public core::Service {
 public:
  IngestService(core::IngestionConfig config, state::StreamRegistry* registry,
                core::MetricsRegistry& metrics);
  ~IngestService() override;

  StreamTable& streams() { return streams_; }

  std::string_view name() const override { return "ingestion"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  // Bound ports (after start), for tests that ask for port 0.
  int srt_port() const;
  int rtp_port() const;

  // Raw RTP streams are declared by SDP (admin API); null when RTP is disabled.
  RtpIngest* rtp() { return rtp_.get(); }

 private:
  void add_stream_metrics(const std::shared_ptr<LiveStream>& stream);
  void remove_stream_metrics(const std::shared_ptr<LiveStream>& stream);

  core::IngestionConfig config_;
  core::MetricsRegistry& metrics_;
  StreamTable streams_;
  ByteSinkFactory ts_sinks_;
  std::unique_ptr<SrtListener> srt_;
  std::unique_ptr<RtpIngest> rtp_;
  bool running_ = false;
};

}  // namespace mirror::ingest
