// What the browser tests share: whether Chromium and the npm packages are here.
#pragma once

#include "integration/mirror_fixture.h"

#include <filesystem>
#include <regex>
#include <string>

namespace mirror::testing {

inline bool browser_available() {
  return !chromium_binary().empty() && !node_binary().empty() &&
         std::filesystem::exists(source_dir() + "/node_modules/playwright-core");
}

// The SPKI hash of the self-signed certificate Mirror logged at start-up
// (what Chromium is told to trust), or "".
inline std::string logged_spki(MirrorInstance& mirror) {
  std::smatch m;
  const std::string err = mirror.process().stderr_text();
  return std::regex_search(err, m, std::regex(R"#("spki_sha256":"([^"]+)")#")) ? std::string(m[1]) : std::string();
}

// Where a test's screenshots go: build/dev/test-artifacts/NAME (created).
inline std::string artifacts(const std::string& name) {
  const auto dir = std::filesystem::path(mirror_binary()).parent_path() / "test-artifacts" / name;
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace mirror::testing
