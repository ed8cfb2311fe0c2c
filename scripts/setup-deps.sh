#!/usr/bin/env bash
# Installs everything Mirror needs to build, run, test and benchmark on Debian 12:
# the libraries of DESIGN.md, the toolchain, the real test peers and the pinned npm
# packages. Idempotent: when everything is present it changes nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

# Build toolchain and libraries.
build_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev llvm
  libboost-dev libssl-dev
  libsrt-openssl-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libswresample-dev
  libnghttp2-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev libgnutls28-dev
  libhiredis-dev libcurl4-openssl-dev libsqlite3-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Real peers used by tests and benchmarks (see the testing notes).
peer_packages=(
  ffmpeg srt-tools redis-server redis-sentinel faketime prometheus
  chromium chromium-driver
  gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  ngtcp2-client ngtcp2-server nghttp2-client curl openssl
  nginx-light varnish wrk hyperfine procps iproute2
  fonts-dejavu-core
)

missing=()
for p in "${build_packages[@]}" "${peer_packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Node.js: any installation with npm will do (the machine may carry a newer one
# than Debian's); install Debian's only when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-deps: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing redis-server, nginx or prometheus would start them as services
  # listening on their public ports. Tests start their own, on loopback. A
  # policy-rc.d that refuses every start keeps the packages' services down
  # for this install only; one the machine already has is left as it is, and
  # no process that was running before is touched.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# mirror setup-deps: no service starts during this install\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages pinned by package-lock.json; reinstall only when the lock changed.
stamp="$here/node_modules/.mirror-lock-stamp"
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "setup-deps: installing npm packages"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$stamp"
fi
