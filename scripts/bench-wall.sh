#!/usr/bin/env bash
# The multiview wall with TILES (25) streams in one tab of headless Chromium
# for SECONDS (600), over HTTPS (HTTP/2, low-latency tiles): the browser's
# CPU, per tile and in all; the media time played against the wall time
# (the reference: real time); dropped frames; stalls in the first and the
# second half (they must not grow); the glass latency of the tiles
# (EXT-X-PROGRAM-DATE-TIME against the page clock); Mirror's CPU and what
# the wall received. One line from scripts/bench-wall.mjs.
#
# The streams are what a tile plays: 640x360 30 fps H.264 at 400 kbit/s with
# AAC at 64 kbit/s (the default multiview rendition), published by one paced
# sender and passed through (transcoding off: 25 transcoders do not fit on
# two cores with a browser beside them; the browser's work is the same).
# The server's meters are therefore idle in this run.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/bench}
tiles=${TILES:-25}
seconds=${SECONDS_TO_RUN:-600}
source scripts/bench-lib.sh

# CLIP=180p: 320x180 15 fps at 150 kbit/s, the small rendition a 4x4 or 5x5
# wall picks when the server makes one (transcoding.renditions).
case "${CLIP:-360p}" in
  360p) size_rate=(640x360 30 400k) ;;
  180p) size_rate=(320x180 15 150k) ;;
  *) echo "CLIP is 360p or 180p" >&2; exit 2 ;;
esac
clip=$work/wall-${CLIP:-360p}.ts
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=${size_rate[0]}:rate=${size_rate[1]}" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 30 \
  -c:v libx264 -preset veryfast -tune zerolatency -g "${size_rate[1]}" -sc_threshold 0 \
  -b:v "${size_rate[2]}" -maxrate "${size_rate[2]}" -bufsize "${size_rate[2]}" \
  -pix_fmt yuv420p -c:a aac -b:a 64k -ac 2 -pes_payload_size 0 -f mpegts "$clip"
rate=$(( $(stat -c %s "$clip") * 8 / 30 ))

MIRROR_TRANSCODING_ENABLED=false start_mirror
"$build_dir/bench/bench_srt_sender" 127.0.0.1 $((port_base + 3)) "$tiles" "$rate" $((seconds + 300)) "$clip" wall \
  >"$work/sender.out" 2>&1 &
sender=$!
for i in $(seq 0 $((tiles - 1))); do
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$((port_base + 1))/streams/wall$i/index.m3u8" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
# The self-signed certificate the server made, trusted by its key's hash.
spki=$(openssl x509 -in "$work/data/tls/self-signed.crt" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
size=$(awk -v n="$tiles" 'BEGIN { s = 1; while (s * s < n) s++; print s }')
# WALL_SCHEME=http: over HTTP/1.1, where the tiles play at standard latency.
if [ "${WALL_SCHEME:-https}" = http ]; then origin="http://127.0.0.1:$((port_base + 1))"; else origin="https://127.0.0.1:$((port_base + 2))"; fi
node scripts/bench-wall.mjs --page "$origin/wall?layout=${size}x${size}${WALL_QUERY:-}" \
  --tiles "$tiles" --seconds "$seconds" --mirror-pid "$pid" --spki "$spki" ${SHOT:+--shot "$SHOT"}
