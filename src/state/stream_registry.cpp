#include "state/stream_registry.h"

namespace mirror::state {
namespace {

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

nlohmann::json StreamRecord::to_json() const {
  return {{"name", name},
          {"node", node},
          {"protocol", protocol},
          {"status", status},
          {"started_at_ms", unix_ms(started_at)},
          {"heartbeat_at_ms", unix_ms(heartbeat_at)}};
}

nlohmann::json NodeRecord::to_json() const {
  return {{"id", id},
          {"url", url},
          {"version", version},
          {"streams", streams},
          {"load", {{"cpu_percent", load.cpu_percent}, {"egress_bps", load.egress_bps}, {"viewers", load.viewers}}},
          {"started_at_ms", unix_ms(started_at)},
          {"heartbeat_at_ms", unix_ms(heartbeat_at)}};
}

}  // namespace mirror::state
