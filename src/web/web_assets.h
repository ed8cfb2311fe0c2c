// The pages Mirror serves, embedded in the binary at build time by
// cmake/MirrorWebAssets.cmake, each in a site: "delivery" (the player page
// and the hls.js it plays with, web/ in the source tree) and "admin" (the
// API description). The table is constant-initialised and never
// changes, so every function here is safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace mirror::web {

struct Asset {
  std::string_view site;          // "delivery" or "admin"
  std::string_view path;          // URL path: "/" (the page), "/player.js", "/vendor/hls.min.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // strong ETag of the body, in its quotes: "\"9f86d081884c7d65\""
};

// The asset `site` serves at `path` (exact match, no query string), or nullptr.
const Asset* find_asset(std::string_view site, std::string_view path);

// Every embedded asset of every site, for instance to add one route each.
std::span<const Asset> all_assets();

}  // namespace mirror::web
