// Request targets and query strings straight from the network.
#include "http/message.h"
#include "http/target.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto target = mirror::http::parse_target(input);
  if (target) {
    // A normalised path never climbs and never holds control characters.
    const std::string& p = target->path;
    if (p.empty() || p.front() != '/' || p.find("/../") != std::string::npos ||
        p.ends_with("/..") || p.find('\0') != std::string::npos) {
      __builtin_trap();
    }
    mirror::http::find_query_param(target->query, "_HLS_msn");
    mirror::http::find_query_param(target->query, "_HLS_part");
    mirror::http::Request r;
    r.query = target->query;
    r.query_param("_HLS_skip");
  }
  mirror::http::percent_decode(input, true);
  return 0;
}
