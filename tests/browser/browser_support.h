// What the browser tests share: whether Chromium and the npm packages are here.
#pragma once

#include "integration/mirror_fixture.h"

#include <filesystem>

namespace mirror::testing {

inline bool browser_available() {
  return !chromium_binary().empty() && !node_binary().empty() &&
         std::filesystem::exists(source_dir() + "/node_modules/playwright-core");
}

}  // namespace mirror::testing
