#!/usr/bin/env bash
# Latency in the browser: hls.js (lowLatencyMode) in headless Chromium plays a
# live SRT stream from Mirror's player page for SECONDS_PER_RUN seconds, once
# per part duration. Prints per run:
#   hls_latency part_ms=P glass_p50_ms=... glass_p95_ms=... hls_latency_p50_s=... stalls=N longest_stall_ms=... ok=...
# "glass" is Date.now() minus the EXT-X-PROGRAM-DATE-TIME of the frame on screen:
# from the frame's arrival at the ingest to its display (same machine, same
# clock). The sender's encode and SRT latency come before that and are
# printed apart (srt_latency_ms), so that glass-to-glass = both.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
bin=$build_dir/mirror
seconds=${SECONDS_PER_RUN:-60}
parts=${PART_DURATIONS:-"100ms 200ms 333ms"}
srt_latency_ms=${SRT_LATENCY_MS:-120}
work=$(mktemp -d)
pid=""
sender=""
cleanup() {
  [ -n "$sender" ] && kill "$sender" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for part in $parts; do
  port_base=$((20000 + RANDOM % 20000))
  cat > "$work/mirror.yaml" <<YAML
server:
  admin_port: $((port_base))
  http_port: $((port_base + 1))
  http3_port: $((port_base + 2))
  data_dir: $work/data
ingestion:
  srt:
    port: $((port_base + 3))
    latency: ${srt_latency_ms}ms
  rtp:
    port: $((port_base + 10))
packaging:
  part_duration: $part
storage:
  local:
    cache_dir: $work/cache
YAML
  "$bin" -c "$work/mirror.yaml" -l warn 2>"$work/mirror.log" &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port_base/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # 640x360 so that the encoder leaves the CPU to Chromium on a small machine.
  ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -pes_payload_size 0 -f mpegts \
    "srt://127.0.0.1:$((port_base + 3))?mode=caller&pkt_size=1316&streamid=lat" &
  sender=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$((port_base + 1))/streams/lat/index.m3u8" >/dev/null 2>&1 && break
    sleep 0.1
  done
  node tests/browser/play.mjs --page "http://127.0.0.1:$((port_base + 1))/" --stream lat \
    --seconds "$seconds" --max-stall-ms 1000 --json "$work/play.json" >/dev/null 2>&1 || true
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const g = r.glassLatencyMs || {}, l = r.latencyMs || {};
    const stalls = (r.stalls || []).length;
    console.log(`hls_latency part_ms=${process.argv[2]} glass_p50_ms=${Math.round(g.p50)} glass_p95_ms=${Math.round(g.p95)} ` +
      `hls_latency_p50_s=${(l.p50 / 1000).toFixed(2)} hls_latency_p95_s=${(l.p95 / 1000).toFixed(2)} ` +
      `stalls=${stalls} longest_stall_ms=${Math.round(r.longestStallMs || 0)} ` +
      `part_target=${r.level && r.level.partTarget} ok=${r.ok} srt_latency_ms=${process.argv[3] || "?"}`);
  ' "$work/play.json" "${part%ms}" "$srt_latency_ms"
  kill "$sender" 2>/dev/null || true
  wait "$sender" 2>/dev/null || true
  sender=""
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
