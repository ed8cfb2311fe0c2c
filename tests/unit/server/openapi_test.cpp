// The API description (/api/v1/openapi.json) and the admin server's router
// agree: every route is described, and every described route exists.
#include "server/server.h"
#include "web/web_assets.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace mirror::server {
namespace {

nlohmann::json description() {
  const auto* asset = web::find_asset("admin", "/api/v1/openapi.json");
  if (asset == nullptr) return nullptr;
  return nlohmann::json::parse(asset->body, nullptr, false);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every "$ref" in `node` names a schema of the document.
void check_refs(const nlohmann::json& doc, const nlohmann::json& node, const std::string& where) {
  if (node.is_object()) {
    if (auto ref = node.find("$ref"); ref != node.end()) {
      const std::string text = ref->get<std::string>();
      const std::string prefix = "#/components/schemas/";
      ASSERT_TRUE(text.starts_with(prefix)) << where << ": " << text;
      EXPECT_TRUE(doc["components"]["schemas"].contains(text.substr(prefix.size()))) << where << ": " << text;
    }
    for (const auto& [key, value] : node.items()) check_refs(doc, value, where + "/" + key);
  } else if (node.is_array()) {
    for (const auto& value : node) check_refs(doc, value, where);
  }
}

TEST(OpenApi, DescribesExactlyTheAdminRoutes) {
  const auto doc = description();
  ASSERT_TRUE(doc.is_object()) << "the embedded description is not JSON";
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");

  core::Config config;  // the default paths: /health, /metrics
  config.server.data_dir = (std::filesystem::temp_directory_path() / "mirror-openapi-test").string();
  Server server(config, core::BuildInfo{});
  std::set<std::pair<std::string, std::string>> routed;
  for (const auto& [method, pattern] : server.admin_routes()) {
    // The console's page and files are not API; the description is.
    if (web::find_asset("admin", pattern) != nullptr && !pattern.starts_with("/api/")) continue;
    routed.emplace(lower(method), pattern);
  }
  ASSERT_FALSE(routed.empty());

  std::set<std::pair<std::string, std::string>> described;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      described.emplace(method, path);
      EXPECT_TRUE(operation.contains("operationId")) << method << " " << path;
      EXPECT_TRUE(operation.contains("summary")) << method << " " << path;
      ASSERT_TRUE(operation.contains("responses")) << method << " " << path;
      bool success = false;
      for (const auto& [status, response] : operation["responses"].items()) {
        success = success || status.starts_with('2');
        EXPECT_TRUE(response.contains("description")) << method << " " << path << " " << status;
      }
      EXPECT_TRUE(success) << method << " " << path << " describes no success";
    }
  }
  for (const auto& r : routed) {
    EXPECT_TRUE(described.count(r)) << "not described: " << r.first << " " << r.second;
  }
  for (const auto& d : described) {
    EXPECT_TRUE(routed.count(d)) << "described but not routed: " << d.first << " " << d.second;
  }
  check_refs(doc, doc, "");
}

}  // namespace
}  // namespace mirror::server
