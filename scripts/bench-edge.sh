#!/usr/bin/env bash
# Mirror behind Varnish (configs/varnish/mirror.vcl), on this machine, in one
# run: VIEWERS_DIRECT (50) LL-HLS viewers read Mirror directly and
# VIEWERS_EDGE (200) read through Varnish, for SECONDS_RUN (20), all following the
# same stream (blocking reloads of the preload-hinted part, then the part).
# Prints bench_llhls_viewers' lines (compare=b_minus_a: what the edge adds to
# each part's arrival, p50/p95) and
#   edge origin_requests=N objects=K per_object=X client_requests=R
# per_object leaves out the plain playlist each viewer reads once at its
# start (never kept: Cache-Control no-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
viewers_tool=$build_dir/bench/bench_llhls_viewers
direct=${VIEWERS_DIRECT:-50}
edge=${VIEWERS_EDGE:-200}
seconds=${SECONDS_RUN:-20}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
start_mirror
start_live_sender cam

# Varnish on loopback with the shipped configuration, stopped by its PID.
edge_port=$((port_base + 30))
sed "s/\.port = \"8000\";/.port = \"$((port_base + 1))\";/" configs/varnish/mirror.vcl > "$work/edge.vcl"
varnishd -F -j none -a "127.0.0.1:$edge_port" -T none -f "$work/edge.vcl" -n "$work/varnish" -s malloc,256m \
  -p thread_pool_min=$((edge + 50)) >"$work/varnish.log" 2>&1 &
varnish_pid=$!
trap 'kill "$varnish_pid" 2>/dev/null || true; stop_bench_processes' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$edge_port/streams/cam/source/playlist.m3u8" >/dev/null 2>&1 && break
  sleep 0.1
done
stat() { varnishstat -n "$work/varnish" -1 -f "$1" | awk '{print $2}'; }
before=$(stat MAIN.backend_req)
out=$("$viewers_tool" --port "$((port_base + 1))" --viewers "$direct" --port-b "$edge_port" --viewers-b "$edge" \
  --path /streams/cam/source/ --seconds "$seconds")
echo "$out"
origin=$(($(stat MAIN.backend_req) - before))
# Objects: two per part (its blocking playlist and the part).
parts=$(sed -n 's/^llhls_viewers group=b .* parts=\([0-9]*\).*/\1/p' <<<"$out")
requests=$(sed -n 's/^llhls_viewers group=b .* requests=\([0-9]*\).*/\1/p' <<<"$out")
awk -v o="$origin" -v p="$parts" -v r="$requests" -v v="$edge" 'BEGIN {
  k = 2 * p
  printf "edge origin_requests=%d objects=%d per_object=%.2f client_requests=%d\n", o, k, (k > 0 ? (o - v) / k : 0), r }'
