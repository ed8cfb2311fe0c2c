#!/usr/bin/env bash
# Three Mirror nodes and one redis-server on this machine (loopback), no
# transcoding. Measures, each against a reference taken in the same run:
#
#   relay    VIEWERS (100) LL-HLS viewers on the origin node A and as many on
#            node B, which relays the stream from A, for SECONDS_RUN (30):
#              cluster_relay viewers=N origin_cpu_ms_per_viewer_s=.. relay_cpu_ms_per_viewer_s=..
#                            relay_over_origin=RATIO added_p50_ms=.. added_p95_ms=.. part_ms=..
#            (CPU: each node's CPU time during the run less its CPU time for
#            as long without viewers, per viewer-second; "added": per part,
#            the median arrival on B minus the median arrival on A, from
#            bench_llhls_viewers)
#   registry STREAMS (25) light streams spread over the three nodes for
#            REGISTRY_SECONDS (30):
#              cluster_registry streams=S nodes=3 node_commands_per_s=.. redis_commands_per_s=..
#                               redis_bytes_per_s=.. registry_over_media=RATIO
#            (what the nodes send, and Redis's own counters, which also count
#            the commands inside the Lua scripts; the ratio is registry bytes
#            over the streams' media bytes in the same time)
#   failover RUNS (10) times: kill -9 the node that ingests the stream,
#            publish again to the other, until a new segment is served there:
#              cluster_failover runs=R kill_to_playing_p50_s=.. p95=.. cold_start_p50_s=..
#            (cold start: a new stream on an idle node, to a served segment)
# PARTS ("relay registry failover") picks some of them.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=" ${PARTS:-relay registry failover} "
build_dir=${BUILD_DIR:-build/bench}
viewers_tool=$build_dir/bench/bench_llhls_viewers
viewers=${VIEWERS:-100}
seconds=${SECONDS_RUN:-30}
streams=${STREAMS:-25}
registry_seconds=${REGISTRY_SECONDS:-30}
runs=${RUNS:-10}
work=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_all EXIT
ulimit -n "$(ulimit -Hn)"

base=$((20000 + RANDOM % 20000))
redis_port=$base
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

declare -A node_pid
# node INDEX: ports base+100*(INDEX+1) + {0 admin, 1 http, 2 http3, 3 srt, 10 rtp}
node_port() { echo $((base + 100 * ($1 + 1) + $2)); }
start_node() {
  local i=$1 dir=$work/node$1
  mkdir -p "$dir"
  cat >"$dir/mirror.yaml" <<YAML
server:
  admin_port: $(node_port "$i" 0)
  http_port: $(node_port "$i" 1)
  http3_port: $(node_port "$i" 2)
  data_dir: $dir/data
  max_connections: 20000
  max_connections_per_ip: 20000
ingestion:
  srt:
    port: $(node_port "$i" 3)
  rtp:
    port: $(node_port "$i" 10)
  max_streams: 25
transcoding:
  enabled: false
storage:
  local:
    cache_dir: $dir/cache
redis:
  addr: 127.0.0.1:$redis_port
cluster:
  node_id: node-$i
  advertise_url: http://127.0.0.1:$(node_port "$i" 1)
  heartbeat: 1s
YAML
  "$build_dir/mirror" -c "$dir/mirror.yaml" -l warn 2>>"$dir/mirror.log" &
  node_pid[$i]=$!
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$(node_port "$i" 0)/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$dir/mirror.log" >&2
  exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# A light live stream (640x360 30 fps, GOP 1 s, AAC), published to node $1 as $2.
publish() {
  ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -pes_payload_size 0 -f mpegts \
    "srt://127.0.0.1:$(node_port "$1" 3)?mode=caller&pkt_size=1316&streamid=$2" >/dev/null 2>&1 &
  echo $!
}
# Running, and not a zombie (an orphan that nothing has reaped yet).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null)
  [ -n "$state" ] && [[ $state != Z* ]]
}
segment_served() {  # node stream
  curl -fsS --max-time 2 "http://127.0.0.1:$(node_port "$1" 1)/streams/$2/source/playlist.m3u8?_HLS_msn=0" 2>/dev/null |
    grep -q '^#EXTINF'
}
now() { date +%s.%N; }

for i in 0 1 2; do start_node "$i"; done

# ---------------------------------------------------------------- relay
if [[ $parts == *" relay "* ]]; then
sender=$(publish 0 cam)
pids+=("$sender")
for _ in $(seq 1 200); do segment_served 0 cam && segment_served 1 cam && break; sleep 0.1; done
sleep 3
a0=$(cpu_ticks "${node_pid[0]}"); b0=$(cpu_ticks "${node_pid[1]}"); t0=$(now)
# The relay keeps running without viewers for 30 s: keep it asked for.
for _ in $(seq 1 "$seconds"); do curl -fsS -o /dev/null "http://127.0.0.1:$(node_port 1 1)/streams/cam/index.m3u8"; sleep 1; done
a1=$(cpu_ticks "${node_pid[0]}"); b1=$(cpu_ticks "${node_pid[1]}"); t1=$(now)
"$viewers_tool" --port "$(node_port 0 1)" --viewers "$viewers" --port-b "$(node_port 1 1)" --viewers-b "$viewers" \
  --path /streams/cam/source/ --seconds "$seconds" --part-ms 100 >"$work/viewers.txt"
a2=$(cpu_ticks "${node_pid[0]}"); b2=$(cpu_ticks "${node_pid[1]}"); t2=$(now)
cat "$work/viewers.txt"
awk -v a0="$a0" -v a1="$a1" -v a2="$a2" -v b0="$b0" -v b1="$b1" -v b2="$b2" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
    -v hz="$hz" -v n="$viewers" -f - "$work/viewers.txt" <<'AWK'
/compare=b_minus_a/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
END {
  idle = t1 - t0; busy = t2 - t1
  a = ((a2 - a1) / hz - (a1 - a0) / hz * busy / idle) * 1000 / (n * busy)
  b = ((b2 - b1) / hz - (b1 - b0) / hz * busy / idle) * 1000 / (n * busy)
  printf "cluster_relay viewers=%d origin_cpu_ms_per_viewer_s=%.3f relay_cpu_ms_per_viewer_s=%.3f relay_over_origin=%.2f added_p50_ms=%s added_p95_ms=%s part_ms=100\n", n, a, b, (a > 0 ? b / a : 0), f["p50_ms"], f["p95_ms"]
}
AWK
kill "$sender" 2>/dev/null || true
fi

# ---------------------------------------------------------------- registry
if [[ $parts == *" registry "* ]]; then
senders=()
for s in $(seq 1 "$streams"); do
  senders+=("$(publish $((s % 3)) "s$s")")
done
pids+=("${senders[@]}")
sleep 8
stat() { redis-cli -p "$redis_port" info stats | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }
# A counter summed over the three nodes' /metrics: the streams' media bytes,
# or what the nodes sent to Redis (a script is one command there; Redis also
# counts the commands each script runs).
node_sum() {
  local sum=0
  for i in 0 1 2; do
    sum=$((sum + $(curl -fsS "http://127.0.0.1:$(node_port "$i" 0)/metrics" |
      awk -v m="$1" '$1 ~ "^" m "({|$)" { s += $2 } END { printf "%d", s }')))
  done
  echo "$sum"
}
c0=$(stat total_commands_processed); i0=$(stat total_net_input_bytes); o0=$(stat total_net_output_bytes)
m0=$(node_sum mirror_stream_bytes_total); n0=$(node_sum mirror_redis_commands_total); t0=$(now)
sleep "$registry_seconds"
c1=$(stat total_commands_processed); i1=$(stat total_net_input_bytes); o1=$(stat total_net_output_bytes)
m1=$(node_sum mirror_stream_bytes_total); n1=$(node_sum mirror_redis_commands_total); t1=$(now)
live=$(curl -fsS "http://127.0.0.1:$(node_port 0 0)/api/v1/streams" | grep -o '"state":"live"' | wc -l)
awk -v c="$((c1 - c0))" -v n="$((n1 - n0))" -v b="$((i1 - i0 + o1 - o0))" -v m="$((m1 - m0))" -v t0="$t0" -v t1="$t1" -v s="$live" 'BEGIN {
  d = t1 - t0
  printf "cluster_registry streams=%d nodes=3 node_commands_per_s=%.1f redis_commands_per_s=%.1f redis_bytes_per_s=%.0f registry_over_media=%.5f\n", s, n / d, c / d, b / d, (m > 0 ? b / m : 0)
}'
for p in "${senders[@]}"; do kill "$p" 2>/dev/null || true; done
sleep 2
fi

# ---------------------------------------------------------------- failover
if [[ $parts == *" failover "* ]]; then
declare -a failovers colds
# Cold start: a new stream on an idle node, to its first served segment.
for r in $(seq 1 "$runs"); do
  t0=$(now)
  p=$(publish 2 "cold$r")
  until segment_served 2 "cold$r"; do sleep 0.05; done
  colds+=("$(echo "$(now) - $t0" | bc)")
  kill "$p"
done
owner=0
other=1
sender=$(publish "$owner" moving)
until segment_served "$owner" moving; do sleep 0.1; done
for r in $(seq 1 "$runs"); do
  sleep 3
  t0=$(now)
  kill -9 "${node_pid[$owner]}" "$sender"
  # Admitted once the other node lists the stream as its own; a refused
  # publisher exits, and is started again.
  admitted=""
  until [ -n "$admitted" ]; do
    sender=$(publish "$other" moving)
    for _ in $(seq 1 30); do
      if curl -fsS "http://127.0.0.1:$(node_port "$other" 0)/api/v1/streams/moving" 2>/dev/null |
        grep -q "\"node\":\"node-$other\""; then
        admitted=yes
        break
      fi
      alive "$sender" || break
      sleep 0.05
    done
    [ -n "$admitted" ] || kill "$sender" 2>/dev/null || true
  done
  admitted_s=$(echo "$(now) - $t0" | bc)
  until segment_served "$other" moving; do sleep 0.05; done
  failovers+=("$(echo "$(now) - $t0" | bc)")
  echo "cluster_failover_run run=$r admitted_s=$admitted_s playing_s=${failovers[-1]}"
  start_node "$owner"
  tmp=$owner; owner=$other; other=$tmp
done
kill "$sender" 2>/dev/null || true
printf '%s\n' "${failovers[@]}" | sort -g >"$work/f.txt"
printf '%s\n' "${colds[@]}" | sort -g >"$work/c.txt"
pct() { awk -v q="$2" '{ v[NR] = $1 } END { i = int(q * (NR - 1) + 0.5) + 1; printf "%.2f", v[i] }' "$1"; }
echo "cluster_failover runs=$runs kill_to_playing_p50_s=$(pct "$work/f.txt" 0.5) kill_to_playing_p95_s=$(pct "$work/f.txt" 0.95) cold_start_p50_s=$(pct "$work/c.txt" 0.5)"
fi
