// What Mirror keeps in Redis, and how it reads it back. Any client of that
// Redis may have written anything under these keys, so every value is parsed
// as hostile: bounded in size, every field checked, the name it claims
// compared with the key it sits under.
//
//   PREFIX node:ID       a node's record (JSON), PX = three heartbeats
//   PREFIX stream:NAME   a stream's claim (JSON), PX = three heartbeats plus
//                        the reconnect window
//   PREFIX events        the pub/sub channel: added, changed, ended, end
//
// Pure functions; no threads.
#pragma once

#include "core/errors.h"
#include "state/stream_registry.h"

#include <string>
#include <string_view>

namespace mirror::state::redis {

// Larger values are never read (the read script refuses them in Redis).
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;

struct KeySpace {
  std::string prefix = "mirror:";

  std::string node(std::string_view id) const { return prefix + "node:" + std::string(id); }
  std::string stream(std::string_view name) const { return prefix + "stream:" + std::string(name); }
  std::string node_pattern() const { return prefix + "node:*"; }
  std::string stream_pattern() const { return prefix + "stream:*"; }
  std::string events() const { return prefix + "events"; }
  // The id or name a key stands for; empty when the key is not one of ours.
  std::string node_of(std::string_view key) const;
  std::string stream_of(std::string_view key) const;
};

std::string encode_stream(const StreamRecord& record);
std::string encode_node(const NodeRecord& record);
// INVALID_INPUT naming the first fault. `expected` is the name or id of the
// key the value was read from (empty: any).
core::Result<StreamRecord> decode_stream(std::string_view text, std::string_view expected = {});
core::Result<NodeRecord> decode_node(std::string_view text, std::string_view expected = {});

struct ClusterEvent {
  enum class Kind { kAdded, kChanged, kEnded, kEndRequest };
  Kind kind = Kind::kAdded;
  // added, changed: the whole record; ended, end: name, node and instance.
  StreamRecord stream;
};
std::string encode_ended(const StreamRecord& record);
std::string encode_end_request(const StreamRecord& owner);
core::Result<ClusterEvent> decode_event(std::string_view text);

}  // namespace mirror::state::redis
