#!/usr/bin/env bash
# scripts/setup-deps.sh runs on users' own machines: it must never stop a
# process it did not start. A process named like a service the script
# installs (redis-server) is alive before the run and must be alive after.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
dummy_pid=
cleanup() {
  [[ -n "$dummy_pid" ]] && kill "$dummy_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A harmless stand-in: sleep, under the name redis-server.
cp "$(command -v sleep)" "$work/redis-server"
"$work/redis-server" 300 &
dummy_pid=$!

status=0
output=$(bash "$here/scripts/setup-deps.sh" 2>&1) || status=$?
if [[ $status -ne 0 ]]; then
  if [[ $(id -u) -ne 0 && "$output" == *"run as root"* ]]; then
    echo "SKIP: packages are missing and this is not root: $output"
    exit 77
  fi
  echo "setup-deps.sh failed ($status): $output"
  exit 1
fi
if ! kill -0 "$dummy_pid" 2>/dev/null; then
  echo "FAIL: setup-deps.sh stopped a redis-server process it did not start"
  exit 1
fi
echo "ok: the redis-server process it did not start is still running"
