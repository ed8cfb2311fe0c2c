// Where a transport delivers one publisher's bytes. The SRT listener and the
// RTP MPEG-TS sessions hand MPEG-TS bytes to a sink (ts_ingest.h makes frames
// of them); tests use sinks of their own.
// Threads: a sink is driven by its transport's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace mirror::ingest {

class LiveStream;

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void push(std::span<const std::uint8_t> bytes,
                    std::chrono::system_clock::time_point arrival) = 0;
  // The publisher is gone: deliver whatever is still pending.
  virtual void finish() = 0;
};

using ByteSinkFactory = std::function<std::unique_ptr<ByteSink>(std::shared_ptr<LiveStream>)>;

}  // namespace mirror::ingest
