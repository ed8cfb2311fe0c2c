#!/usr/bin/env bash
# Starts Mirror on its embedded defaults (no Redis, no S3, no GPU, no root),
# publishes a generated test stream to it over SRT and says where to look.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=./build/dev/mirror
admin_port=${MIRROR_SERVER_ADMIN_PORT:-8080}

# Each in a session of its own: Ctrl-C reaches this script alone, which then
# asks Mirror to stop once (a second signal would force it).
setsid "$bin" -c configs/mirror.yaml &
pid=$!
trap 'trap - INT TERM EXIT; kill -TERM $pid 2>/dev/null; wait $pid' INT TERM EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${admin_port}/ready" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "mirror exited during start-up" >&2
    exit 1
  fi
  sleep 0.1
done

# A generated test stream (1280x720, 30 fps, H.264 + AAC) published over SRT.
srt_port=${MIRROR_INGESTION_SRT_PORT:-6000}
setsid ffmpeg -hide_banner -loglevel error -re \
  -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -c:v libx264 -preset veryfast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 128k \
  -f mpegts "srt://127.0.0.1:${srt_port}?mode=caller&pkt_size=1316&streamid=demo" &
sender=$!
trap 'trap - INT TERM EXIT; kill $sender 2>/dev/null; kill -TERM $pid 2>/dev/null; wait $pid' INT TERM EXIT

cat <<MSG

Mirror is running (pid $pid), with a test stream "demo" published over SRT.
  streams:  http://127.0.0.1:${admin_port}/api/v1/streams
  demo:     http://127.0.0.1:${admin_port}/api/v1/streams/demo
  health:   http://127.0.0.1:${admin_port}/health
  metrics:  http://127.0.0.1:${admin_port}/metrics
Publish your own: ffmpeg ... -f mpegts "srt://HOST:${srt_port}?streamid=NAME"
The player page arrives with the packaging work. Press Ctrl-C to stop.

MSG
wait "$pid"
