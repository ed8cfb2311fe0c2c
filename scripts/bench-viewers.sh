#!/usr/bin/env bash
# How many LL-HLS viewers this machine serves with every part reaching every
# viewer within one part duration of the first one: VIEWERS ("250 500 1000
# 2000") viewers, each following the stream's 640x360 400 kbit/s rendition
# (blocking reloads of the preload-hinted part, then the part, over
# HTTP/1.1 keep-alive) for SECONDS_RUN (15) each, the viewers and Mirror on
# the same cores. Prints bench_llhls_viewers' line per count, then the cores
# Mirror used meanwhile (its CPU time over the run's wall time):
#   llhls_capacity viewers=N mirror_cores=C viewers_per_mirror_core=V
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
viewers_tool=$build_dir/bench/bench_llhls_viewers
seconds=${SECONDS_RUN:-15}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
MAX_CONNECTIONS=20000 MAX_CONNECTIONS_PER_IP=20000 start_mirror
start_live_sender cam
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$((port_base + 1))/streams/cam/360p/playlist.m3u8" >/dev/null 2>&1 && break
  sleep 0.1
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for n in ${VIEWERS:-250 500 1000 2000}; do
  t0=$(date +%s.%N)
  c0=$(cpu_ticks)
  "$viewers_tool" --port "$((port_base + 1))" --viewers "$n" --path /streams/cam/360p/ --seconds "$seconds"
  c1=$(cpu_ticks)
  t1=$(date +%s.%N)
  awk -v n="$n" -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {
    cores = c / hz / (t1 - t0)
    printf "llhls_capacity viewers=%d mirror_cores=%.2f viewers_per_mirror_core=%.0f\n", n, cores, (cores > 0 ? n / cores : 0) }'
done
