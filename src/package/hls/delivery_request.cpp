#include "package/hls/delivery_request.h"

#include <charconv>
#include <optional>

namespace mirror::package::hls {
namespace {

// A decimal number in [0, max], digits only (no sign: "-0" is not a name of 0).
// `canonical`: no leading zeros either, so that one file has one name (a cache
// must not hold "part-06.3" beside "part-6.3").
std::optional<std::int64_t> parse_number(std::string_view text, std::int64_t max, bool canonical = false) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (canonical && text.size() > 1 && text.front() == '0') return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space); nothing for a malformed escape or a NUL.
std::optional<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3) return std::nullopt;
      const int hi = hex_digit(text[i + 1]);
      const int lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c == '+' ? ' ' : c);
    }
  }
  return out;
}

}  // namespace

DeliveryDirectives parse_delivery_directives(std::string_view query) {
  DeliveryDirectives out;
  std::optional<std::string> msn, part, skip;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto key = decode(pair.substr(0, eq));
    if (!key) continue;  // not a directive we could recognise
    std::optional<std::string>* slot = *key == "_HLS_msn"    ? &msn
                                       : *key == "_HLS_part" ? &part
                                       : *key == "_HLS_skip" ? &skip
                                                             : nullptr;
    if (slot == nullptr || slot->has_value()) continue;  // the first one counts
    auto value = decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) {
      out.error = *key + " has a malformed value";
      return out;
    }
    *slot = std::move(*value);
  }
  if (msn) {
    auto v = parse_number(*msn, kMaxMediaSequence);
    if (!v) {
      out.error = "_HLS_msn must be a non-negative integer";
      return out;
    }
    out.request.msn = *v;
  }
  if (part) {
    auto v = parse_number(*part, 0xffff);
    if (!v) {
      out.error = "_HLS_part must be an integer from 0 to 65535";
      return out;
    }
    if (!out.request.msn) {
      out.error = "_HLS_part requires _HLS_msn";
      return out;
    }
    out.request.part = static_cast<int>(*v);
  }
  if (skip) {
    if (*skip != "YES" && *skip != "v2") {
      out.error = "_HLS_skip must be YES or v2";
      return out;
    }
    out.request.skip = true;
  }
  return out;
}

RenditionFile parse_rendition_file(std::string_view file) {
  RenditionFile out;
  if (file == "playlist.m3u8") {
    out.kind = RenditionFile::Kind::kPlaylist;
    return out;
  }
  auto strip = [&file](std::string_view prefix, std::string_view suffix) -> std::optional<std::string_view> {
    if (!file.starts_with(prefix) || !file.ends_with(suffix) ||
        file.size() <= prefix.size() + suffix.size()) {
      return std::nullopt;
    }
    return file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  };
  if (auto v = strip("init-", ".mp4")) {
    if (auto n = parse_number(*v, kMaxMediaSequence, true)) return {RenditionFile::Kind::kInit, *n, 0};
  } else if (auto s = strip("seg-", ".m4s")) {
    if (auto n = parse_number(*s, kMaxMediaSequence, true)) return {RenditionFile::Kind::kSegment, *n, 0};
  } else if (auto p = strip("part-", ".m4s")) {
    const auto dot = p->find('.');
    if (dot != std::string_view::npos) {
      auto n = parse_number(p->substr(0, dot), kMaxMediaSequence, true);
      auto i = parse_number(p->substr(dot + 1), 0xffff, true);
      if (n && i) return {RenditionFile::Kind::kPart, *n, static_cast<int>(*i)};
    }
  }
  return out;
}

}  // namespace mirror::package::hls
