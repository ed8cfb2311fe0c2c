# Script mode: writes build_info.cpp for VERSION, the current git commit and the
# build time (the commit's time when SOURCE_DATE_EPOCH is set, for reproducible builds).
execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
endif()
execute_process(COMMAND git -C ${SOURCE_DIR} status --porcelain --untracked-files=no
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT dirty STREQUAL "" AND NOT commit STREQUAL "unknown")
  set(commit "${commit}-dirty")
endif()
# Only the mirror executable links this file, so a new time relinks nothing else.
string(TIMESTAMP build_time "%Y-%m-%dT%H:%M:%SZ" UTC)
set(content "// Generated at build time; do not edit.
#include \"core/build_info.h\"
namespace mirror::core {
const BuildInfo& build_info() {
  static const BuildInfo info{\"${VERSION}\", \"${build_time}\", \"${commit}\"};
  return info;
}
}  // namespace mirror::core
")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
else()
  set(old "")
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUTPUT} "${content}")
endif()
