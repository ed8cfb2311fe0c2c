#!/usr/bin/env bash
# Latency in the browser: hls.js (lowLatencyMode) in headless Chromium plays a
# live SRT stream from Mirror's player page for SECONDS_PER_RUN seconds, once
# per part duration. Prints per run:
#   hls_latency part_ms=P glass_p50_ms=... glass_p95_ms=... hls_latency_p50_s=... stalls=N longest_stall_ms=... ok=...
# "glass" is Date.now() minus the EXT-X-PROGRAM-DATE-TIME of the frame on screen:
# from the frame's arrival at the ingest to its display (same machine, same
# clock). The sender's encode and SRT latency come before that and are
# printed apart (srt_latency_ms), so that glass-to-glass = both.
# VIEW=multiview plays the stream's transcoded rendition (the multiview
# playlist) instead of its source; LIVE_CODEC=hevc sends HEVC, which the page
# always plays through the rendition. PROGRAM-DATE-TIME of the rendition is
# the source frame's arrival, so "glass" then includes the transcoder.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
seconds=${SECONDS_PER_RUN:-60}
parts=${PART_DURATIONS:-"100ms 200ms 333ms"}
SRT_LATENCY_MS=${SRT_LATENCY_MS:-120}
source scripts/bench-lib.sh

for part in $parts; do
  PART_DURATION=$part
  start_mirror
  start_live_sender lat
  node tests/browser/play.mjs --page "http://127.0.0.1:$((port_base + 1))/?view=${VIEW:-}" --stream lat \
    --seconds "$seconds" --max-stall-ms 1000 --json "$work/play.json" >/dev/null 2>&1 || true
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const g = r.glassLatencyMs || {}, l = r.latencyMs || {};
    const stalls = (r.stalls || []).length;
    console.log(`hls_latency part_ms=${process.argv[2]} glass_p50_ms=${Math.round(g.p50)} glass_p95_ms=${Math.round(g.p95)} ` +
      `hls_latency_p50_s=${(l.p50 / 1000).toFixed(2)} hls_latency_p95_s=${(l.p95 / 1000).toFixed(2)} ` +
      `stalls=${stalls} longest_stall_ms=${Math.round(r.longestStallMs || 0)} ` +
      `part_target=${r.level && r.level.partTarget} ok=${r.ok} srt_latency_ms=${process.argv[3] || "?"} ` +
      `playlist=${(r.playlistUrl || "?").replace(/^.*\/streams\//, "")}`);
  ' "$work/play.json" "${part%ms}" "$SRT_LATENCY_MS"
  stop_live_sender
  stop_mirror
done
