#!/usr/bin/env bash
# What `make test` runs. With no argument: the dev build with every test, the
# unit and integration tests under ASan+UBSan, the unit tests under TSan, and
# each fuzz target for MIRROR_FUZZ_SECONDS (default 20) seconds. With
# arguments: only the named stages (dev, asan, tsan, fuzz).
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
  cmake --preset "$stage" >/dev/null
  if [[ $stage == tsan ]]; then
    # ThreadSanitizer runs the unit tests only: build nothing else.
    cmake --build --preset "$stage" -j "$jobs" --target unit_tests
  else
    cmake --build --preset "$stage" -j "$jobs"
  fi
  echo "== ${stage}: tests"
  ctest --preset "$stage" -j "$jobs" --no-tests=error
  seconds[$stage]=$(($(date +%s) - start))
done

echo "== stage times (s):"
for stage in "${stages[@]}"; do echo "   ${stage}: ${seconds[$stage]}"; done
