#!/usr/bin/env bash
# Live transcoding benchmark: N paced SRT publishers of the 1080p50 HEVC
# 50 Mbit/s fixture into one Mirror with its default rendition (640x360,
# 30 fps, 400 kbit/s + AAC 64 kbit/s). Per run it prints whether every
# stream was transcoded in real time (rendition frames against 30 per
# stream-second, no GOP dropped), the server's CPU per stream-second and RSS
# per stream, and the transcoder's latency from the histogram (after the
# streams' first WARMUP_SECONDS, 3 by default):
#   transcode_live streams=N realtime=yes|no frames_out_per_stream_s=... dropped_gops=...
#     cpu_s_per_stream_s=... rss_mb=... rss_mb_per_stream=... latency_p50_ms=... latency_p99_ms=...
# Reference: the input's own rate (stream-seconds) and the rendition's 30 fps.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
sender_bin=$build_dir/bench/bench_srt_sender
fixture=$(bash scripts/bench-fixtures.sh hevc)
seconds=${SECONDS_PER_RUN:-20}
source scripts/bench-lib.sh
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$pid/stat"; }
rss_mb() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status"; }
metrics() { curl -fsS "http://127.0.0.1:$port_base/metrics"; }
# Sum of a metric's samples whose labels match a pattern.
sum_metric() { metrics | awk -v m="$1" -v p="$2" '$1 ~ "^"m && $1 ~ p {s += $2} END {printf "%.0f", s}'; }
# Latency histogram buckets as "le count" lines.
buckets() { metrics | awk -F'[{}" ]' '/^mirror_transcode_latency_seconds_bucket/ {print $3, $NF}'; }
# p-quantile (ms) of the difference of two bucket listings, interpolated.
quantile() {
  awk -v q="$3" 'NR == FNR {before[$1] = $2; next} {
      le[n] = $1; c[n] = $2 - before[$1]; n++ }
    END { total = c[n - 1]; if (total <= 0) { print "nan"; exit }
      target = q * total; lo = 0; prev = 0
      for (i = 0; i < n; i++) {
        if (c[i] >= target) { hi = (le[i] == "+Inf") ? lo : le[i]
          frac = (c[i] == prev) ? 0 : (target - prev) / (c[i] - prev)
          printf "%.1f", (lo + (hi - lo) * frac) * 1000; exit }
        if (le[i] != "+Inf") lo = le[i]; prev = c[i] } }' "$1" "$2"
}

bitrate=$(stat -c %s "$fixture" | awk '{printf "%d", $1 * 8 / 10}')
start_mirror
idle_rss=$(rss_mb)
echo "transcode_live idle rss_mb=$idle_rss fixture=$fixture bitrate=$bitrate"
for n in ${RUNS:-1 2 3}; do
  frames_before=$(sum_metric mirror_transcode_frames_out_total "t${n}x")
  before=$(cpu)
  "$sender_bin" 127.0.0.1 $((port_base + 3)) "$n" "$bitrate" "$seconds" "$fixture" "t${n}x" >/dev/null &
  sending=$!
  # Latency in steady state: a stream's first seconds queue up behind the
  # decoder's cold start (its first pictures take 3 to 5 times as long).
  sleep "${WARMUP_SECONDS:-3}"
  buckets > "$work/before"
  wait "$sending"
  after=$(cpu)
  rss=$(rss_mb)
  buckets > "$work/after"
  frames=$(( $(sum_metric mirror_transcode_frames_out_total "t${n}x") - frames_before ))
  dropped=$(sum_metric mirror_transcode_dropped_gops_total "t${n}x")
  p50=$(quantile "$work/before" "$work/after" 0.5)
  p99=$(quantile "$work/before" "$work/after" 0.99)
  [ -n "${SHOW_BUCKETS:-}" ] && paste "$work/before" "$work/after" | awk '{print "  le=" $1, $4 - $2}' >&2
  awk -v n="$n" -v s="$seconds" -v b="$before" -v a="$after" -v m="$rss" -v i="$idle_rss" \
      -v f="$frames" -v d="$dropped" -v p50="$p50" -v p99="$p99" 'BEGIN {
    used = a - b; ss = n * s; fps = f / ss
    rt = (fps >= 28 && d == 0) ? "yes" : "no"  # the first 0.5 s has no output yet
    printf "transcode_live streams=%d realtime=%s frames_out_per_stream_s=%.1f dropped_gops=%d cpu_s_per_stream_s=%.3f rss_mb=%.1f rss_mb_per_stream=%.1f latency_p50_ms=%s latency_p99_ms=%s\n",
      n, rt, fps, d, used / ss, m, (m - i) / n, p50, p99 }'
  sleep 7  # the streams end (reconnect window) before the next run
done
