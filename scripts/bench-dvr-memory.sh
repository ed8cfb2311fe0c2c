#!/usr/bin/env bash
# Resident memory per 50 Mbit/s stream: STREAMS paced SRT publishers of the
# 1080p50 50 Mbit/s fixture (passed through, no transcoding) for SECONDS,
# with the whole live window in memory (storage.dvr.enabled false) and with
# the DVR recording (segments older than the playlist's parts are served
# from the local cache). RSS is read while the streams run, once the 20
# segment window is full. Prints per mode:
#   dvr_memory dvr=on|off streams=N idle_rss_mb=... rss_mb=... rss_mb_per_stream=... cache_mb=...
# Reference: the same server without the DVR, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
sender_bin=$build_dir/bench/bench_srt_sender
fixture=$(bash scripts/bench-fixtures.sh h264)
seconds=${SECONDS_PER_RUN:-45}
streams=${STREAMS:-3}
source scripts/bench-lib.sh
rss_mb() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status"; }
export MIRROR_TRANSCODING_ENABLED=false
for dvr in false true; do
  export MIRROR_STORAGE_DVR_ENABLED=$dvr
  start_mirror
  sleep 1
  idle=$(rss_mb)
  "$sender_bin" 127.0.0.1 $((port_base + 3)) "$streams" 50000000 "$seconds" "$fixture" "m" >/dev/null &
  sender=$!
  sleep $((seconds - 5))
  rss=$(rss_mb)
  cache=$(du -sm "$work/cache" | cut -f1)
  wait "$sender" || true
  sender=""
  awk -v d="$dvr" -v n="$streams" -v i="$idle" -v r="$rss" -v c="$cache" 'BEGIN {
    printf "dvr_memory dvr=%s streams=%d idle_rss_mb=%.1f rss_mb=%.1f rss_mb_per_stream=%.1f cache_mb=%d\n",
      d == "true" ? "on" : "off", n, i, r, (r - i) / n, c }'
  stop_mirror
  rm -rf "$work/cache" "$work/data"
done
