#!/usr/bin/env bash
# Memory one viewer connection costs Mirror, over HTTP/2 (h2load) and HTTP/3
# (bench_h3_load): CONNECTIONS (1000) connections, each with one request at a
# time for a small object (the stream's multivariant playlist), held for
# SECONDS_EACH (8 s); Mirror's resident memory is read in the middle of the
# run and compared with its memory before. Prints one line per protocol:
#   connection_memory proto=h2 connections=N rss_before_kib=... rss_during_kib=... kib_per_connection=...
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
h3_load=$build_dir/bench/bench_h3_load
connections=${CONNECTIONS:-1000}
seconds_each=${SECONDS_EACH:-8}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

measure() {  # proto, then the load command
  local proto=$1
  shift
  sleep 2
  local before during
  before=$(rss_kib)
  # Bounded: h2load waits for every connection before its clock starts.
  timeout $((seconds_each * 3)) "$@" >/dev/null 2>&1 &
  local load=$!
  sleep $((seconds_each / 2))
  during=$(rss_kib)
  wait "$load" || true
  awk -v p="$proto" -v c="$connections" -v b="$before" -v d="$during" 'BEGIN {
    printf "connection_memory proto=%s connections=%d rss_before_kib=%d rss_during_kib=%d kib_per_connection=%.1f\n",
      p, c, b, d, (d - b) / c }'
}

# A fresh server per protocol, so that neither starts from the other's heap.
# Every connection comes from 127.0.0.1: the per-address cap is lifted too.
path=/streams/cam/index.m3u8
for proto in h3 h2; do
  MAX_CONNECTIONS=$((connections * 2 + 100)) MAX_CONNECTIONS_PER_IP=$((connections * 2 + 100)) start_mirror
  start_live_sender cam
  url="https://127.0.0.1:$((port_base + 2))$path"
  if [ "$proto" = h2 ]; then
    measure h2 h2load -c "$connections" -m 1 -t "$(nproc)" -D "$seconds_each" "$url"
  else
    measure h3 "$h3_load" --host 127.0.0.1 --port "$((port_base + 2))" --path "$path" \
      --connections "$connections" --streams 1 --seconds "$seconds_each"
  fi
  kill "$sender" "$pid" 2>/dev/null || true
  wait "$sender" "$pid" 2>/dev/null || true
  sender=""
  pid=""
done
