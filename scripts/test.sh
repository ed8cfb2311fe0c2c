#!/usr/bin/env bash
# What `make test` runs. With no argument: the dev build with every test; the
# asan build (clang, ASan + UBSan, the libFuzzer targets beside the tests)
# with the unit and integration tests but the real-source corpus (its
# parsers are fuzzed there; the corpus runs in the dev and tsan stages); the
# tsan build (clang) with the unit and integration tests; then each fuzz
# target for MIRROR_FUZZ_SECONDS (default 20) seconds from the asan build.
# With arguments: only the named stages (dev, asan, tsan, fuzz).
#
# Four integration tests mostly wait on the clock (a 60 s S3 outage, two
# 30 s retention times, 20 s without Redis); they run in the dev stage only
# (CMakePresets.json names them). Their code paths run under the sanitizers
# in shorter tests: the wrong-secret S3 test, the writer's sweeper and the
# Redis registry's restart tests.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
stages=("$@")
((${#stages[@]})) || stages=(dev asan tsan fuzz)
export MIRROR_FUZZ_SECONDS=${MIRROR_FUZZ_SECONDS:-20}

declare -A seconds
for stage in "${stages[@]}"; do
  start=$(date +%s)
  echo "== ${stage}: configure and build"
  case $stage in
    # The fuzz targets live in the asan build.
    fuzz) cmake --preset asan >/dev/null ;;
    *) cmake --preset "$stage" >/dev/null ;;
  esac
  case $stage in
    # ThreadSanitizer runs the unit and integration tests: build nothing else.
    tsan) cmake --build --preset tsan -j "$jobs" --target unit_tests integration_tests mirror ;;
    *) cmake --build --preset "$stage" -j "$jobs" ;;
  esac
  echo "== ${stage}: tests"
  ctest --preset "$stage" -j "$jobs" --no-tests=error
  seconds[$stage]=$(($(date +%s) - start))
done

echo "== stage times (s):"
for stage in "${stages[@]}"; do echo "   ${stage}: ${seconds[$stage]}"; done
