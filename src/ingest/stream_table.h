// The set of ingested streams and the rules for admitting a publisher: a valid
// name, no second publisher for a live name, at most ingestion.max_streams
// streams (SRT and RTP together). A publisher that leaves puts its stream in
// "reconnecting" for ingestion.reconnect_delay; coming back within it resumes
// the same stream (its next frame carries a discontinuity), otherwise the
// stream ends. The registry (state/) is told about every change.
//
// Threads: every method is thread-safe (one mutex; called per connection
// event, never per packet).
#pragma once

#include "core/errors.h"
#include "ingest/live_stream.h"
#include "state/stream_registry.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mirror::ingest {

class StreamTable {
 public:
  using Clock = std::chrono::steady_clock;

  StreamTable(int max_streams, std::chrono::nanoseconds reconnect_delay,
              state::StreamRegistry* registry = nullptr, std::string node = "local");

  // Would a publisher for `name` be admitted now? Side-effect free; used in the
  // SRT handshake to refuse before accepting.
  core::Status check(const std::string& name) const;

  // Admits a publisher: a new stream, or the resumption of a reconnecting one.
  core::Result<std::shared_ptr<LiveStream>> admit(const std::string& name,
                                                  const std::string& protocol);

  // The publisher left: the stream waits reconnect_delay for it.
  void publisher_left(const std::shared_ptr<LiveStream>& stream);

  // Ends a stream now (admin DELETE): hangs up its publisher, no reconnect.
  core::Status end_stream(const std::string& name);

  // Ends streams whose reconnect window has passed, and tells the registry
  // of streams that went live. Call periodically.
  void expire(Clock::time_point now = Clock::now());

  // Ends everything (shutdown).
  void end_all();

  std::shared_ptr<LiveStream> find(const std::string& name) const;
  std::vector<std::shared_ptr<LiveStream>> list() const;
  std::size_t size() const;

  // Called after a stream is added or ended (metrics series, packagers).
  void on_stream_added(std::function<void(const std::shared_ptr<LiveStream>&)> cb);
  void on_stream_ended(std::function<void(const std::shared_ptr<LiveStream>&)> cb);

 private:
  struct Entry {
    std::shared_ptr<LiveStream> stream;
    Clock::time_point reconnect_deadline{};
    StreamState reported = StreamState::kConnecting;  // the state the registry last heard
  };
  void end_locked(std::map<std::string, Entry>::iterator it,
                  std::vector<std::shared_ptr<LiveStream>>& ended);
  void notify_ended(const std::vector<std::shared_ptr<LiveStream>>& ended);

  int max_streams_;
  std::chrono::nanoseconds reconnect_delay_;
  state::StreamRegistry* registry_;
  std::string node_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> streams_;
  std::vector<std::function<void(const std::shared_ptr<LiveStream>&)>> added_callbacks_;
  std::vector<std::function<void(const std::shared_ptr<LiveStream>&)>> ended_callbacks_;
};

}  // namespace mirror::ingest
