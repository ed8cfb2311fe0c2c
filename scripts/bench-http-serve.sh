#!/usr/bin/env bash
# Serving one LL-HLS part over keep-alive connections, Mirror against Debian's
# nginx serving the same bytes from disk, both on this machine in the same
# run:
#   HTTP/1.1 (plain) with wrk, and HTTP/2 over TLS with h2load;
#   HTTP/3 with bench_h3_load (no packaged load generator speaks it), as a
#   ratio to Mirror's own HTTP/2 figure of the same run.
# The part is the newest complete one of a live 5 Mbit/s stream (about 64 KB
# at 100 ms parts); its bytes are copied for nginx. Prints one line per
# protocol:
#   http_serve proto=h1 bytes=N mirror_rps=... nginx_rps=... ratio=... mirror_gbps=...
#   http_serve proto=h3 bytes=N mirror_rps=... mirror_gbps=... mirror_h2_gbps=... ratio_to_h2=...
# (HTTP/3 against HTTP/2 by bytes per second: the newest part, and so its
# size, differs between the two runs.)
# SECONDS_EACH (5), CONNECTIONS (64) and STREAMS_PER_CONNECTION (10, HTTP/2)
# change the load.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
h3_load=$build_dir/bench/bench_h3_load
seconds_each=${SECONDS_EACH:-5}
connections=${CONNECTIONS:-64}
streams=${STREAMS_PER_CONNECTION:-10}
source scripts/bench-lib.sh
ulimit -n "$(ulimit -Hn)"
start_mirror

# A stream whose parts are about 64 KB: 5 Mbit/s at 100 ms parts.
ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 \
  -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 5M -maxrate 5M -bufsize 500k \
  -pix_fmt yuv420p -f mpegts "srt://127.0.0.1:$((port_base + 3))?mode=caller&pkt_size=1316&streamid=big" &
sender=$!
http="http://127.0.0.1:$((port_base + 1))"
https="https://127.0.0.1:$((port_base + 2))"
for _ in $(seq 1 100); do
  curl -fsS "$http/streams/big/source/playlist.m3u8" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2

# nginx with its own configuration, on loopback, stopped by its PID.
nginx_port=$((port_base + 20))
nginx_tls_port=$((port_base + 21))
# nginx's workers run as an unprivileged user when started as root: the
# files they serve are in a directory anyone may read.
www=$(mktemp -d)
chmod 755 "$www"
mkdir -p "$www/streams/big/source" "$work/nginx"
cert=$work/data/tls/self-signed.crt
key=$work/data/tls/self-signed.key
cat > "$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes $(nproc);
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { video/iso.segment m4s; }
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    listen 127.0.0.1:$nginx_tls_port ssl http2;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    root $www;
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null || true; rm -rf "$www"; stop_bench_processes' EXIT
sleep 0.5

# The newest complete part, fetched now (it stays in the live window for the
# playlist's whole span, far longer than one run).
newest_part() {
  curl -fsS "$http/streams/big/source/playlist.m3u8" |
    grep -o 'URI="part-[0-9]*\.[0-9]*\.m4s"' | tail -1 | cut -d'"' -f2
}

rps_wrk() {  # URL -> requests/s
  wrk -t "$(nproc)" -c "$connections" -d "${seconds_each}s" "$1" | awk '/Requests\/sec/ {print $2}'
}
rps_h2load() {  # URL -> requests/s
  h2load -c "$connections" -m "$streams" -t "$(nproc)" -D "$seconds_each" "$1" 2>/dev/null |
    awk '/^finished in/ {gsub(",", "", $4); print $4}'
}

report() {  # proto bytes mirror_rps nginx_rps
  awk -v p="$1" -v b="$2" -v m="$3" -v n="$4" 'BEGIN {
    printf "http_serve proto=%s bytes=%d mirror_rps=%.0f nginx_rps=%.0f ratio=%.2f mirror_gbps=%.2f nginx_gbps=%.2f\n",
      p, b, m, n, (n > 0 ? m / n : 0), m * b * 8 / 1e9, n * b * 8 / 1e9 }'
}

for proto in h1 h2; do
  part=$(newest_part)
  curl -fsS "$http/streams/big/source/$part" -o "$www/streams/big/source/$part"
  bytes=$(stat -c %s "$www/streams/big/source/$part")
  # Both must answer 200 with the same bytes, or the figures mean nothing.
  for url in "$http/streams/big/source/$part" "http://127.0.0.1:$nginx_port/streams/big/source/$part" \
    "$https/streams/big/source/$part" "https://127.0.0.1:$nginx_tls_port/streams/big/source/$part"; do
    got=$(curl -sk -o "$work/check" -w '%{http_code}' "$url")
    if [ "$got" != 200 ] || ! cmp -s "$work/check" "$www/streams/big/source/$part"; then
      echo "$url answered $got, or other bytes" >&2
      exit 1
    fi
  done
  if [ "$proto" = h1 ]; then
    m=$(rps_wrk "$http/streams/big/source/$part")
    n=$(rps_wrk "http://127.0.0.1:$nginx_port/streams/big/source/$part")
  else
    m=$(rps_h2load "$https/streams/big/source/$part")
    n=$(rps_h2load "https://127.0.0.1:$nginx_tls_port/streams/big/source/$part")
    h2_gbps=$(awk -v m="$m" -v b="$bytes" 'BEGIN { printf "%.4f", m * b * 8 / 1e9 }')
  fi
  report "$proto" "$bytes" "$m" "$n"
done

# HTTP/3 on the same port number (UDP), the same part, the same load shape;
# every answer must be 200 with the part's size.
part=$(newest_part)
bytes=$(curl -fsS "$http/streams/big/source/$part" | wc -c)
line=$("$h3_load" --host 127.0.0.1 --port "$((port_base + 2))" --path "/streams/big/source/$part" \
  --connections "$connections" --streams "$streams" --seconds "$seconds_each" --check-bytes "$bytes")
h3_rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
awk -v b="$bytes" -v m="$h3_rps" -v h="$h2_gbps" -v e="$errors" 'BEGIN {
  g = m * b * 8 / 1e9
  printf "http_serve proto=h3 bytes=%d mirror_rps=%.0f mirror_gbps=%.2f mirror_h2_gbps=%.2f ratio_to_h2=%.2f errors=%d\n",
    b, m, g, h, (h > 0 ? g / h : 0), e }'
