# Helpers that give every Mirror target the same warnings and layout.

# Warnings apply to Mirror's own code only, never to third-party headers.
add_library(mirror_warnings INTERFACE)
target_compile_options(mirror_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
# GCC 12's flow-based warnings misfire inside libstdc++ at -O3 (string
# concatenation, vector insertion: GCC bugs 105329, 105651, 106199): they stay
# warnings there, never errors. Every other warning still fails the build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(mirror_warnings INTERFACE
    $<$<CONFIG:Release>:-Wno-error=restrict -Wno-error=stringop-overflow -Wno-error=array-bounds>)
endif()

# mirror_room(NAME DEPS...): one static library per room of src/, built from
# every .cpp in src/NAME/ (recursively), headers included as "NAME/file.h".
function(mirror_room name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(mirror_${name} STATIC ${sources})
  target_include_directories(mirror_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(mirror_${name} PUBLIC ${ARG_DEPS} PRIVATE mirror_warnings)
endfunction()

# mirror_unit_test(ROOM DEPS...): one GoogleTest binary per room, from tests/unit/ROOM/*.cpp.
function(mirror_unit_test room)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/${room}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(unit_${room} ${sources})
  if(NOT TARGET unit_tests)
    # Every unit test binary, so that a stage can build just those.
    add_custom_target(unit_tests)
  endif()
  add_dependencies(unit_tests unit_${room})
  target_include_directories(unit_${room} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(unit_${room} PRIVATE mirror_${room} ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main mirror_warnings)
  gtest_discover_tests(unit_${room}
    DISCOVERY_MODE PRE_TEST
    TEST_PREFIX "${room}."
    PROPERTIES LABELS unit TIMEOUT 300
               ENVIRONMENT "MIRROR_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
