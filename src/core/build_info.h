// What the running binary is: version, build time and git commit.
// The values are written at build time into a file that only the `mirror`
// executable links; libraries receive a BuildInfo from their caller.
#pragma once

#include <string_view>

namespace mirror::core {

struct BuildInfo {
  std::string_view version;
  std::string_view build_time;
  std::string_view git_commit;
};

// Defined in the generated build_info.cpp of the executable.
const BuildInfo& build_info();

}  // namespace mirror::core
