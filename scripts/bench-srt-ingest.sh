#!/usr/bin/env bash
# Live SRT ingest benchmark: Mirror's CPU and RSS with 1, 5 and 25 paced SRT
# publishers of a pre-encoded 1080p50 fixture. Prints per run:
#   srt_ingest streams=N bitrate=B cpu_s_per_stream_s=... cpu_s_per_gbit=... rss_mb=... rss_mb_per_stream=...
# and the sender's loss figures. Reference: the input's own rate (stream-seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
sender_bin=$build_dir/bench/bench_srt_sender
fixture=$(bash scripts/bench-fixtures.sh h264)
seconds=${SECONDS_PER_RUN:-15}
source scripts/bench-lib.sh
start_mirror
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$pid/stat"; }
rss_mb() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status"; }

idle_rss=$(rss_mb)
echo "srt_ingest idle rss_mb=$idle_rss"
runs=${RUNS:-"1:50000000 5:20000000 25:8000000"}
for spec in $runs; do
  n=${spec%%:*}
  rate=${spec##*:}
  before=$(cpu)
  "$sender_bin" 127.0.0.1 $((port_base + 3)) "$n" "$rate" "$seconds" "$fixture" "s${n}x" 
  after=$(cpu)
  rss=$(rss_mb)
  awk -v n="$n" -v r="$rate" -v s="$seconds" -v c="$((0))" -v b="$before" -v a="$after" -v m="$rss" -v i="$idle_rss" 'BEGIN {
    used = a - b; ss = n * s; gbit = n * r * s / 1e9;
    printf "srt_ingest streams=%d bitrate=%d cpu_s=%.2f cpu_s_per_stream_s=%.4f cpu_s_per_gbit=%.3f rss_mb=%.1f rss_mb_per_stream=%.1f\n",
      n, r, used, used / ss, used / gbit, m, (m - i) / n }'
  sleep 4  # let the streams end (reconnect window) before the next run
done
