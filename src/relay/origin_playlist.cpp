#include "relay/origin_playlist.h"

#include "core/names.h"
#include "core/time_text.h"
#include "package/hls/delivery_request.h"

#include <fmt/format.h>

#include <charconv>
#include <algorithm>
#include <cmath>

namespace mirror::relay {
namespace {

using Kind = package::hls::RenditionFile::Kind;

constexpr std::size_t kMaxSegments = 100000;
constexpr std::size_t kMaxPartsPerSegment = 1000;

core::Error fault(std::size_t line, std::string what) {
  return core::Error(core::ErrorCode::kInvalidInput, fmt::format("origin playlist line {}: {}", line, what));
}

std::optional<std::int64_t> integer(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// Seconds as Mirror writes them ("0.50000"): at most 3600.
std::optional<double> seconds(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0 || v > 3600) return std::nullopt;
  return v;
}

// The value of NAME= in an attribute list (quoted or not).
std::optional<std::string_view> attribute(std::string_view list, std::string_view name) {
  std::size_t at = 0;
  while (at < list.size()) {
    const auto eq = list.find('=', at);
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = list.substr(at, eq - at);
    std::size_t end;
    std::string_view value;
    if (eq + 1 < list.size() && list[eq + 1] == '"') {
      const auto close = list.find('"', eq + 2);
      if (close == std::string_view::npos) return std::nullopt;
      value = list.substr(eq + 2, close - eq - 2);
      end = close + 1;
    } else {
      end = list.find(',', eq + 1);
      if (end == std::string_view::npos) end = list.size();
      value = list.substr(eq + 1, end - eq - 1);
    }
    if (key == name) return value;
    if (end < list.size() && list[end] != ',') return std::nullopt;
    at = end + 1;
  }
  return std::nullopt;
}

// A URI without the query a signed playlist adds ("?token=...").
std::string_view without_query(std::string_view uri) { return uri.substr(0, uri.find('?')); }

// The file a URI names, as Mirror names its files (package/hls).
package::hls::RenditionFile file_of(std::string_view uri) {
  return package::hls::parse_rendition_file(without_query(uri));
}

}  // namespace

core::Result<OriginPlaylist> parse_origin_playlist(std::string_view text) {
  if (text.size() > kMaxPlaylistBytes) return fault(0, "larger than 4 MiB");
  OriginPlaylist out;
  bool header = false, have_target = false, have_part_target = false, have_sequence = false;
  std::int64_t map_version = -1;
  // The entry being read: opened by its first tag, closed by its URI line.
  std::optional<OriginSegment> open;
  bool pending_discontinuity = false;
  bool expect_uri = false;
  double extinf = 0;
  std::size_t line_no = 0;
  auto entry = [&]() -> OriginSegment& {
    if (!open) {
      open.emplace();
      open->msn = out.media_sequence + static_cast<std::int64_t>(out.segments.size());
      open->discontinuity = pending_discontinuity;
      open->init_version = map_version;
      pending_discontinuity = false;
    }
    return *open;
  };
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!header) {
      if (line != "#EXTM3U") return fault(line_no, "does not start with #EXTM3U");
      header = true;
      continue;
    }
    if (expect_uri) {
      if (line.front() == '#') return fault(line_no, "EXTINF without its URI");
      const auto file = file_of(line);
      if (file.kind != Kind::kSegment || file.number != open->msn) {
        return fault(line_no, "segment URI does not match its position");
      }
      open->complete = true;
      open->duration = extinf;
      if (out.segments.size() >= kMaxSegments) return fault(line_no, "too many segments");
      out.segments.push_back(std::move(*open));
      open.reset();
      expect_uri = false;
      continue;
    }
    if (line.front() != '#') return fault(line_no, "URI without EXTINF");
    const auto colon = line.find(':');
    const std::string_view tag = line.substr(0, colon);
    const std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (tag == "#EXT-X-TARGETDURATION") {
      const auto v = integer(value);
      if (!v || *v < 1 || *v > 3600) return fault(line_no, "bad target duration");
      out.target_duration = static_cast<int>(*v);
      have_target = true;
    } else if (tag == "#EXT-X-PART-INF") {
      const auto v = attribute(value, "PART-TARGET");
      const auto s = v ? seconds(*v) : std::nullopt;
      if (!s || *s <= 0) return fault(line_no, "bad part target");
      out.part_target = *s;
      have_part_target = true;
    } else if (tag == "#EXT-X-MEDIA-SEQUENCE") {
      if (!out.segments.empty() || open) return fault(line_no, "media sequence after a segment");
      const auto v = integer(value);
      if (!v) return fault(line_no, "bad media sequence");
      out.media_sequence = *v;
      have_sequence = true;
    } else if (tag == "#EXT-X-DISCONTINUITY-SEQUENCE") {
      const auto v = integer(value);
      if (!v) return fault(line_no, "bad discontinuity sequence");
      out.discontinuity_sequence = *v;
    } else if (tag == "#EXT-X-SKIP") {
      return fault(line_no, "a delta update (the relay asks for whole playlists)");
    } else if (tag == "#EXT-X-DISCONTINUITY") {
      if (open) return fault(line_no, "discontinuity inside a segment");
      pending_discontinuity = true;
    } else if (tag == "#EXT-X-MAP") {
      if (open) return fault(line_no, "map inside a segment");
      const auto uri = attribute(value, "URI");
      const auto file = uri ? file_of(*uri) : package::hls::RenditionFile{};
      if (file.kind != Kind::kInit || file.number < map_version) return fault(line_no, "bad map URI");
      map_version = file.number;
    } else if (tag == "#EXT-X-PROGRAM-DATE-TIME") {
      const auto ms = core::parse_rfc3339_ms(value);
      // Within what a time point in nanoseconds holds (1970 to 2255).
      if (!ms || *ms < 0 || *ms > 9'000'000'000'000) return fault(line_no, "bad program date time");
      entry().program_date_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
    } else if (tag == "#EXT-X-PART") {
      OriginSegment& seg = entry();
      const auto d = attribute(value, "DURATION");
      const auto uri = attribute(value, "URI");
      const auto duration = d ? seconds(*d) : std::nullopt;
      const auto file = uri ? file_of(*uri) : package::hls::RenditionFile{};
      if (!duration || file.kind != Kind::kPart) return fault(line_no, "bad part");
      if (file.number != seg.msn || file.part != static_cast<int>(seg.parts.size())) {
        return fault(line_no, "part URI does not match its position");
      }
      if (seg.parts.size() >= kMaxPartsPerSegment) return fault(line_no, "too many parts");
      const auto independent = attribute(value, "INDEPENDENT");
      seg.parts.push_back({*duration, independent && *independent == "YES"});
    } else if (tag == "#EXTINF") {
      const auto s = seconds(value.substr(0, value.find(',')));
      if (!s) return fault(line_no, "bad EXTINF");
      entry();
      extinf = *s;
      expect_uri = true;
    } else if (tag == "#EXT-X-PRELOAD-HINT") {
      const auto uri = attribute(value, "URI");
      const auto file = uri ? file_of(*uri) : package::hls::RenditionFile{};
      if (file.kind != Kind::kPart || file.part >= static_cast<int>(kMaxPartsPerSegment)) {
        return fault(line_no, "bad preload hint");
      }
      out.hint_msn = file.number;
      out.hint_part = file.part;
    } else if (tag == "#EXT-X-ENDLIST") {
      out.ended = true;
    }
    // Other tags (version, server control, rendition reports) are not needed.
  }
  if (!header) return fault(line_no, "does not start with #EXTM3U");
  if (expect_uri) return fault(line_no, "EXTINF without its URI");
  if (open) out.segments.push_back(std::move(*open));
  if (!have_target || !have_part_target || !have_sequence) {
    return fault(line_no, "lacks a target duration, part target or media sequence");
  }
  for (const auto& seg : out.segments) {
    if (seg.init_version < 0) return fault(0, "a segment without an init segment");
  }
  return out;
}

core::Result<std::vector<std::string>> multivariant_renditions(std::string_view text) {
  if (text.size() > 1024 * 1024) return core::Error(core::ErrorCode::kInvalidInput, "multivariant larger than 1 MiB");
  if (!text.starts_with("#EXTM3U")) return core::Error(core::ErrorCode::kInvalidInput, "not a playlist");
  std::vector<std::string> out;
  auto add = [&](std::string_view uri) -> bool {
    // "NAME/playlist.m3u8", NAME a rendition folder.
    uri = without_query(uri);
    if (!uri.ends_with("/playlist.m3u8")) return false;
    const auto name = uri.substr(0, uri.size() - 14);
    // Rendition folders are named like streams.
    if (!core::is_valid_stream_name(name)) return false;
    if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    return out.size() <= 64;
  };
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    bool ok = true;
    if (line.starts_with("#EXT-X-MEDIA:")) {
      if (auto uri = attribute(line.substr(13), "URI")) ok = add(*uri);
    } else if (line.front() != '#') {
      ok = add(line);
    }
    if (!ok) return core::Error(core::ErrorCode::kInvalidInput, "multivariant names something that is not a rendition");
  }
  if (out.empty()) return core::Error(core::ErrorCode::kInvalidInput, "multivariant names no rendition");
  return out;
}

}  // namespace mirror::relay
