# Version, build time and git commit, written into the binary at build time.
# The generated file is compiled into the executable alone, so libraries and tests
# never rebuild because of it.
set(MIRROR_BUILD_INFO_CPP ${CMAKE_BINARY_DIR}/generated/build_info.cpp)
add_custom_target(mirror_build_info_gen
  COMMAND ${CMAKE_COMMAND}
          -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
          -DOUTPUT=${MIRROR_BUILD_INFO_CPP}
          -DVERSION=${PROJECT_VERSION}
          -P ${CMAKE_SOURCE_DIR}/cmake/WriteBuildInfo.cmake
  BYPRODUCTS ${MIRROR_BUILD_INFO_CPP}
  COMMENT "Recording version, build time and git commit")
