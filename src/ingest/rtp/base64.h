// Base64 (RFC 4648 §4, standard alphabet) decoding for SDP parameters such as
// sprop-parameter-sets. Strict about the alphabet; '=' padding optional, as
// some senders leave it out.
//
// Threads: stateless; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mirror::ingest {

// The decoded bytes, or nullopt for a character outside the alphabet,
// misplaced padding, or a length no encoder produces.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text);

}  // namespace mirror::ingest
