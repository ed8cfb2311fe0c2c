#include "ingest/stream_id.h"

namespace mirror::ingest {

core::Result<std::string> parse_stream_id(std::string_view id) {
  auto bad = [&](std::string why) {
    return core::Error(core::ErrorCode::kInvalidInput, std::move(why),
                       {{"stream_id", std::string(id.substr(0, 128))}});
  };
  std::string name;
  if (id.starts_with("#!::")) {
    std::string_view rest = id.substr(4);
    std::string mode = "publish";
    bool has_resource = false;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view pair = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) return bad("malformed key=value in stream id");
      std::string_view key = pair.substr(0, eq);
      std::string_view value = pair.substr(eq + 1);
      if (key == "r") {
        name = std::string(value);
        has_resource = true;
      } else if (key == "m") {
        mode = std::string(value);
      }
    }
    if (!has_resource) return bad("stream id has no r= resource name");
    if (mode != "publish") return bad("only m=publish is accepted on the ingest port");
  } else {
    name = std::string(id);
  }
  if (!is_valid_stream_name(name)) {
    return bad("stream name must be 1-64 characters of A-Z a-z 0-9 _ -");
  }
  return name;
}

}  // namespace mirror::ingest
