// What the cluster tests share: a node's configuration for one Redis.
#pragma once

#include <map>
#include <string>

namespace mirror::testing {

// redis.* and cluster.* for node `id`; `more` adds redis keys. The node
// advertises its own HTTP port ("${HTTP_PORT}", see MirrorInstance).
inline std::string cluster_config(const std::string& redis, const std::string& id, const std::string& more = {}) {
  return "redis:\n"
         "  addr: " + redis + "\n"
         "  dial_timeout: 500ms\n"
         "  read_timeout: 1s\n"
         "  write_timeout: 1s\n" + more +
         "cluster:\n"
         "  node_id: " + id + "\n"
         "  advertise_url: http://127.0.0.1:${HTTP_PORT}\n"
         "  heartbeat: 1s\n";
}

// Two cores carry three nodes, their publishers and players: no transcoding.
inline const std::map<std::string, std::string> kLightNode = {{"MIRROR_TRANSCODING_ENABLED", "false"}};

}  // namespace mirror::testing
