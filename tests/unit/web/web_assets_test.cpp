#include "web/web_assets.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

namespace mirror::web {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJavaScript = "text/javascript; charset=utf-8";
constexpr std::string_view kCss = "text/css; charset=utf-8";

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST(WebAssets, ServesThePageAtTheRoot) {
  const Asset* page = find_asset("delivery", "/");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->path, "/");
  EXPECT_EQ(page->content_type, kHtml);
  EXPECT_TRUE(contains(page->body, "<!doctype html>") || contains(page->body, "<!DOCTYPE html>"));
}

TEST(WebAssets, ServesScriptsAndStylesWithTheirContentTypes) {
  struct Expected {
    std::string_view path;
    std::string_view content_type;
  };
  for (auto [path, type] : {Expected{"/player.js", kJavaScript}, Expected{"/player.css", kCss},
                            Expected{"/vendor/hls.min.js", kJavaScript}}) {
    const Asset* asset = find_asset("delivery", path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_EQ(asset->path, path);
    EXPECT_EQ(asset->content_type, type) << path;
    EXPECT_FALSE(asset->body.empty()) << path;
  }
}

TEST(WebAssets, PageLoadsThePlayerAndTheVendoredHlsJs) {
  const Asset* page = find_asset("delivery", "/");
  ASSERT_NE(page, nullptr);
  EXPECT_TRUE(contains(page->body, "player.js"));
  EXPECT_TRUE(contains(page->body, "player.css"));
  EXPECT_TRUE(contains(page->body, "/vendor/hls.min.js"));
}

// Every module a page imports, and every script and style it loads, is
// served by the same site: a page never asks for a file Mirror lacks.
TEST(WebAssets, EveryScriptAndModuleAPageLoadsIsServedByItsSite) {
  const std::regex loads(R"re((?:src|href)="(/[^"]+)"|from '(\.\.?/[^']+)')re");
  int checked = 0;
  for (const Asset& asset : all_assets()) {
    if (asset.content_type != kHtml && asset.content_type != kJavaScript) continue;
    if (asset.path.starts_with("/vendor/")) continue;
    const std::string body(asset.body);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), loads); it != std::sregex_iterator(); ++it) {
      std::string target = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      if (target.starts_with(".")) {
        // Relative to the module's folder; "../" climbs one.
        auto dir = std::string(asset.path.substr(0, asset.path.rfind('/')));
        if (target.starts_with("../")) {
          dir = dir.substr(0, dir.rfind('/'));
          target = target.substr(1);
        }
        target = dir + target.substr(1);
      }
      EXPECT_NE(find_asset(asset.site, target), nullptr) << asset.site << ":" << asset.path << " loads " << target;
      ++checked;
    }
  }
  EXPECT_GE(checked, 15);
}

TEST(WebAssets, ServesTheWallOnTheDeliveryPort) {
  const Asset* wall = find_asset("delivery", "/wall");
  ASSERT_NE(wall, nullptr);
  EXPECT_EQ(wall->content_type, kHtml);
  EXPECT_TRUE(contains(wall->body, "/wall/wall.js"));
  EXPECT_TRUE(contains(wall->body, "/vendor/hls.min.js"));
  EXPECT_EQ(find_asset("admin", "/wall"), nullptr);
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(find_asset("delivery", "/nope.js"), nullptr);
  EXPECT_EQ(find_asset("delivery", ""), nullptr);
  EXPECT_EQ(find_asset("delivery", "/index.html"), nullptr);
  EXPECT_EQ(find_asset("delivery", "/player.js?v=1"), nullptr);
  EXPECT_EQ(find_asset("delivery", "/PLAYER.JS"), nullptr);
  EXPECT_EQ(find_asset("delivery", "/vendor/"), nullptr);
  EXPECT_EQ(find_asset("delivery", "/streams"), nullptr);
}

TEST(WebAssets, EachSiteServesItsOwn) {
  ASSERT_NE(find_asset("admin", "/api/v1/openapi.json"), nullptr);
  EXPECT_EQ(find_asset("admin", "/api/v1/openapi.json")->content_type, "application/json");
  EXPECT_EQ(find_asset("delivery", "/api/v1/openapi.json"), nullptr);
  EXPECT_EQ(find_asset("admin", "/player.js"), nullptr);
  EXPECT_EQ(find_asset("nowhere", "/"), nullptr);
}

TEST(WebAssets, EveryAssetHasADistinctStrongEtag) {
  std::set<std::pair<std::string_view, std::string_view>> paths;
  // One file may serve two sites (theme.css): distinct within a site.
  std::set<std::pair<std::string_view, std::string_view>> etags;
  for (const Asset& asset : all_assets()) {
    EXPECT_TRUE(paths.insert({asset.site, asset.path}).second) << asset.site << ":" << asset.path;
    EXPECT_EQ(find_asset(asset.site, asset.path), &asset);
    ASSERT_EQ(asset.etag.size(), 18u) << asset.path;  // 16 hex digits in quotes
    EXPECT_EQ(asset.etag.front(), '"');
    EXPECT_EQ(asset.etag.back(), '"');
    EXPECT_EQ(asset.etag.substr(1, 16).find_first_not_of("0123456789abcdef"),
              std::string_view::npos)
        << asset.etag;
    EXPECT_TRUE(etags.insert({asset.site, asset.etag}).second) << asset.path;
  }
  EXPECT_GE(paths.size(), 4u);
}

TEST(WebAssets, VendoredHlsJsIsTheNpmPackageByteForByte) {
  const char* source_dir = std::getenv("MIRROR_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "the test environment sets MIRROR_SOURCE_DIR";
  std::ifstream in(std::string(source_dir) + "/node_modules/hls.js/dist/hls.min.js",
                   std::ios::binary);
  ASSERT_TRUE(in) << "node_modules/hls.js is missing: run scripts/setup-deps.sh";
  std::string expected{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

  const Asset* hls = find_asset("delivery", "/vendor/hls.min.js");
  ASSERT_NE(hls, nullptr);
  EXPECT_EQ(hls->body.size(), expected.size());
  EXPECT_TRUE(hls->body == expected) << "the embedded hls.min.js differs from node_modules";
}

}  // namespace
}  // namespace mirror::web
