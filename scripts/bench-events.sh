#!/usr/bin/env bash
# The dashboards' event stream (GET /api/v1/events) with CLIENTS (1000)
# connected at once, beside STREAMS (5) live streams: Mirror's CPU over
# WINDOW (20 s) without clients (the reference, the same server publishing
# the same streams) and with them, its resident memory before and after they
# connect, and the events each client received. One line:
#   events clients=N streams=S cpu_without_pct=... cpu_with_pct=... event_cpu_vs_server=... rss_kib_per_client=... events_per_client_per_s=...
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
clients=${CLIENTS:-1000}
streams=${STREAMS:-5}
window=${WINDOW:-20}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
senders=()
trap 'kill "${senders[@]}" 2>/dev/null || true; stop_bench_processes' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu_pct_over() {  # seconds -> percent of one core
  local t0 t1
  t0=$(cpu_ticks)
  sleep "$1"
  t1=$(cpu_ticks)
  awk -v a="$t0" -v b="$t1" -v s="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }'
}

MAX_CONNECTIONS=$((clients * 2 + 100)) MAX_CONNECTIONS_PER_IP=$((clients * 2 + 100)) start_mirror
for i in $(seq 1 "$streams"); do
  start_live_sender "cam$i"
  senders+=("$sender")
done
sender=""
sleep 3
without=$(cpu_pct_over "$window")
rss_before=$(rss_kib)

# The clients: one asyncio loop, each connection reads and counts events.
python3 - "$port_base" "$clients" "$((window + 8))" >"$work/clients.out" <<'PY' &
import asyncio, sys
port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
totals = [0] * count
async def client(i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        totals[i] += chunk.count(b"\nevent: ") + chunk.startswith(b"event: ")
async def main():
    tasks = [asyncio.create_task(client(i)) for i in range(count)]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    print(sum(1 for t in totals if t > 0), sum(totals))
asyncio.run(main())
PY
load=$!
sleep 5
rss_during=$(rss_kib)
with=$(cpu_pct_over "$window")
wait "$load"
read -r reached events <"$work/clients.out"
awk -v c="$clients" -v s="$streams" -v a="$without" -v b="$with" -v r0="$rss_before" -v r1="$rss_during" \
    -v got="$reached" -v ev="$events" -v w="$window" 'BEGIN {
  printf "events clients=%d reached=%d streams=%d cpu_without_pct=%.2f cpu_with_pct=%.2f event_cpu_vs_server=%.3f rss_before_kib=%d rss_with_kib=%d rss_kib_per_client=%.1f events_per_client_per_s=%.2f\n",
    c, got, s, a, b, (b - a) / a, r0, r1, (r1 - r0) / c, ev / c / (w + 8) }'
