# Shared by the live benchmarks (sourced, not run): starts the server under
# test on free-ish ports with a configuration of its own, and publishes a
# generated live stream to it. Callers set build_dir, and may set
# MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP, SRT_LATENCY_MS and PART_DURATION before start_mirror.
#   start_mirror              -> $pid, $port_base (admin), http = +1, SRT = +3
#   start_live_sender NAME    -> $sender; returns once NAME is playable
# stop_bench_processes (installed as the EXIT trap) stops both and removes $work.
work=$(mktemp -d)
pid=""
sender=""
stop_bench_processes() {
  [ -n "$sender" ] && kill "$sender" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_bench_processes EXIT

start_mirror() {
  port_base=$((20000 + RANDOM % 20000))
  cat > "$work/mirror.yaml" <<YAML
server:
  admin_port: $((port_base))
  http_port: $((port_base + 1))
  http3_port: $((port_base + 2))
  data_dir: $work/data
  max_connections: ${MAX_CONNECTIONS:-10000}
  max_connections_per_ip: ${MAX_CONNECTIONS_PER_IP:-200}
ingestion:
  srt:
    port: $((port_base + 3))
    latency: ${SRT_LATENCY_MS:-120}ms
  rtp:
    port: $((port_base + 10))
  max_streams: 25
packaging:
  part_duration: ${PART_DURATION:-100ms}
storage:
  local:
    cache_dir: $work/cache
YAML
  "$build_dir/mirror" -c "$work/mirror.yaml" -l warn 2>"${MIRROR_LOG:-$work/mirror.log}" &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port_base/ready" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  cat "$work/mirror.log" >&2
  exit 1
}

stop_mirror() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}

# 640x360 30 fps x264 zerolatency (GOP 1 s) + AAC in one PES per frame: light
# enough to leave the CPU to the server and a browser on a small machine.
# LIVE_CODEC=hevc sends x265 (ultrafast, GOP 1 s, its own B-frames) instead.
start_live_sender() {
  local video=(-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -sc_threshold 0)
  if [ "${LIVE_CODEC:-h264}" = hevc ]; then
    video=(-c:v libx265 -preset ultrafast -x265-params keyint=30:log-level=error)
  fi
  ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    "${video[@]}" -pix_fmt yuv420p \
    -c:a aac -b:a 64k -pes_payload_size 0 -f mpegts \
    "srt://127.0.0.1:$((port_base + 3))?mode=caller&pkt_size=1316&streamid=$1" &
  sender=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$((port_base + 1))/streams/$1/index.m3u8" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "stream $1 did not become playable" >&2
  exit 1
}

stop_live_sender() {
  kill "$sender" 2>/dev/null || true
  wait "$sender" 2>/dev/null || true
  sender=""
}
