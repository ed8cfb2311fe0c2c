// libFuzzer target for what Mirror reads back from Redis: stream claims,
// node records and pub/sub events, any bytes another client may have put
// under Mirror's keys. Checks, besides the sanitizers: an accepted record
// is within the bounds the parser promises and reads back the same after
// being written again.
#include "core/names.h"
#include "state/redis/cluster_records.h"

#include <cstdlib>
#include <string_view>

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mirror::state::redis;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = decode_stream(text)) {
    require(mirror::core::is_valid_stream_name(s->name) && mirror::core::is_valid_node_id(s->node));
    const auto again = decode_stream(encode_stream(*s), s->name);
    require(again && again->instance == s->instance && again->status == s->status &&
            again->started_at == s->started_at && again->heartbeat_at == s->heartbeat_at);
  }
  if (auto n = decode_node(text)) {
    require(mirror::core::is_valid_node_id(n->id) && n->streams.size() <= 1000);
    const auto again = decode_node(encode_node(*n), n->id);
    require(again && again->streams == n->streams && again->url == n->url && again->load.viewers == n->load.viewers);
  }
  if (auto e = decode_event(text)) {
    require(mirror::core::is_valid_stream_name(e->stream.name));
  }
  return 0;
}
