#!/usr/bin/env bash
# Starts Mirror on its embedded defaults (no Redis, no S3, no GPU, no root),
# waits until it is ready and says where to look. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=./build/dev/mirror
admin_port=${MIRROR_SERVER_ADMIN_PORT:-8080}

"$bin" -c configs/mirror.yaml &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM EXIT

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

cat <<MSG

Mirror is running (pid $pid).
  health:   http://127.0.0.1:${admin_port}/health
  metrics:  http://127.0.0.1:${admin_port}/metrics
  version:  http://127.0.0.1:${admin_port}/api/v1/version
Publishing and the player page arrive with the ingest and packaging work.
Press Ctrl-C to stop.

MSG
wait "$pid"
