#!/usr/bin/env bash
# S3 archiving benchmark: the archiver uploads COUNT segments of SIZE_MB
# (default 200 x 3 MB, a 12 Mbit/s rendition's 2 s segment; SIZE_MB=15 is a
# 60 Mbit/s source's, sent as multipart) to s3rver on loopback (npm
# @20minutes/s3rver, started and stopped here), with 4 and with 1 worker
# connections. Prints bench_s3_upload's lines; the reference is the
# real-time rate of 25 streams at 50 Mbit/s (156 MB/s). s3rver (Node.js,
# writing each object to disk with its metadata) is the slower side here:
# its CPU is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
count=${COUNT:-200}
size_mb=${SIZE_MB:-3}
work=$(mktemp -d)
s3pid=""
cleanup() {
  [ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
node tests/support/s3rver.mjs "$port" "$work/s3" bench >"$work/s3rver.log" 2>&1 &
s3pid=$!
for _ in $(seq 1 100); do
  grep -q ready "$work/s3rver.log" 2>/dev/null && break
  sleep 0.1
done
ticks=$(getconf CLK_TCK)
s3cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$s3pid/stat"; }
for workers in ${WORKERS:-4 1}; do
  before=$(s3cpu)
  "$build_dir/bench/bench_s3_upload" "http://127.0.0.1:$port" bench "$work/files" "$count" "$size_mb" "$workers"
  after=$(s3cpu)
  awk -v b="$before" -v a="$after" -v n="$count" -v s="$size_mb" 'BEGIN {
    printf "s3rver cpu_s=%.2f cpu_s_per_gib=%.2f\n", a - b, (a - b) / (n * s * 1e6 / 1073741824) }'
done
