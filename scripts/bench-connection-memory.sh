#!/usr/bin/env bash
# Memory one viewer connection costs Mirror, over HTTP/2 (h2load) and HTTP/3
# (bench_h3_load): CONNECTIONS (1000) connections held for SECONDS_EACH (8 s),
# either busy (one request at a time for a small object, the stream's
# multivariant playlist, again and again) or idle (one such request, then
# nothing: h2load at one request per 100 s per client, bench_h3_load with
# --requests-per-connection 1). Mirror's resident memory is read in the
# middle of the run and compared with its memory before. One line per
# protocol and mode:
#   connection_memory proto=h2 mode=busy connections=N rss_before_kib=... rss_during_kib=... kib_per_connection=...
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
h3_load=$build_dir/bench/bench_h3_load
connections=${CONNECTIONS:-1000}
seconds_each=${SECONDS_EACH:-8}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

measure() {  # proto, mode, then the load command
  local proto=$1 mode=$2
  shift 2
  sleep 2
  local before during
  before=$(rss_kib)
  # Bounded: h2load waits for every connection before its clock starts.
  timeout $((seconds_each * 3)) "$@" >/dev/null 2>&1 &
  local load=$!
  sleep $((seconds_each / 2))
  during=$(rss_kib)
  wait "$load" || true
  awk -v p="$proto" -v m="$mode" -v c="$connections" -v b="$before" -v d="$during" 'BEGIN {
    printf "connection_memory proto=%s mode=%s connections=%d rss_before_kib=%d rss_during_kib=%d kib_per_connection=%.1f\n",
      p, m, c, b, d, (d - b) / c }'
}

# A fresh server per protocol, so that neither starts from the other's heap.
# Every connection comes from 127.0.0.1: the per-address cap is lifted too.
path=/streams/cam/index.m3u8
for run in h3:busy h2:busy h3:idle h2:idle; do
  proto=${run%:*}
  mode=${run#*:}
  MAX_CONNECTIONS=$((connections * 2 + 100)) MAX_CONNECTIONS_PER_IP=$((connections * 2 + 100)) start_mirror
  start_live_sender cam
  url="https://127.0.0.1:$((port_base + 2))$path"
  if [ "$proto" = h2 ]; then
    rate=()
    [ "$mode" = idle ] && rate=(--rps 0.01)
    measure h2 "$mode" h2load -c "$connections" -m 1 -t "$(nproc)" -D "$seconds_each" "${rate[@]}" "$url"
  else
    once=()
    [ "$mode" = idle ] && once=(--requests-per-connection 1)
    measure h3 "$mode" "$h3_load" --host 127.0.0.1 --port "$((port_base + 2))" --path "$path" \
      --connections "$connections" --streams 1 --seconds "$seconds_each" "${once[@]}"
  fi
  kill "$sender" "$pid" 2>/dev/null || true
  wait "$sender" "$pid" 2>/dev/null || true
  sender=""
  pid=""
done
