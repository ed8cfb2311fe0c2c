#!/usr/bin/env bash
# Builds the release preset and runs every benchmark under bench/. Each prints
# its figure as a ratio against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$(nproc)"
for b in build/bench/bench/bench_*; do
  [[ -x "$b" ]] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.2
done
