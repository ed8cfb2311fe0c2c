// The names that travel between rooms and nodes, and their one rule each.
#pragma once

#include <string_view>

namespace mirror::core {

// A stream name: 1-64 characters of A-Z a-z 0-9 _ -
bool is_valid_stream_name(std::string_view name);

// A node id (cluster.node_id): 1-128 characters of A-Z a-z 0-9 . _ : -
bool is_valid_node_id(std::string_view id);

}  // namespace mirror::core
