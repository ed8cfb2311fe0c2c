// libFuzzer target for what players send: the LL-HLS delivery directives of a
// playlist request and the file names under a rendition. The input's first
// line is the query, the rest the file name. Checks, besides the sanitizers:
// an accepted request keeps its promises (_HLS_part only with _HLS_msn,
// numbers in range), and a file name is either refused or names a number
// that prints back to the same name.
#include "package/hls/delivery_request.h"

#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace mirror::package::hls;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view query = input.substr(0, newline);
  const std::string_view file = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  const auto d = parse_delivery_directives(query);
  if (d.error.empty()) {
    require(!d.request.part || d.request.msn);
    require(!d.request.msn || (*d.request.msn >= 0 && *d.request.msn <= kMaxMediaSequence));
    require(!d.request.part || (*d.request.part >= 0 && *d.request.part <= 0xffff));
  }

  const auto f = parse_rendition_file(file);
  switch (f.kind) {
    case RenditionFile::Kind::kPlaylist:
      require(file == "playlist.m3u8");
      break;
    case RenditionFile::Kind::kInit:
      require(file == init_uri(f.number));
      break;
    case RenditionFile::Kind::kSegment:
      require(file == segment_uri(f.number));
      break;
    case RenditionFile::Kind::kPart:
      require(file == part_uri({f.number, f.part}));
      break;
    case RenditionFile::Kind::kUnknown:
      break;
  }
  return 0;
}
