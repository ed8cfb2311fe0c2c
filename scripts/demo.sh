#!/usr/bin/env bash
# Starts Mirror on its embedded defaults (no Redis, no S3, no GPU, no root),
# publishes generated test streams to it over SRT (one of them HEVC) and says
# where to look: the player, the wall and the dashboard.
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

# A generated test stream (1280x720, 30 fps, H.264 + AAC) published over SRT,
# audio in one PES per AAC frame (-pes_payload_size 0: by default ffmpeg
# gathers ~0.4 s of audio per PES, which would hold every audio part back),
# looping for as long as the demo runs. The clock burnt into the picture is
# the wall clock (hh:mm:ss.mmm) at which the frame was made: compare it with a
# clock on the viewing machine to see the glass-to-glass delay.
srt_port=${MIRROR_INGESTION_SRT_PORT:-6000}
http_port=${MIRROR_SERVER_HTTP_PORT:-8000}
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf
# Seconds since local midnight when the first frame is made: drawtext adds the
# frame's timestamp to it.
midnight_offset=$(python3 -c 'import time; t=time.time(); lt=time.localtime(t); print(f"{t - time.mktime(lt[:3] + (0, 0, 0) + lt[6:]):.3f}")' 2>/dev/null ||
  date +%s.%N | awk -v m="$(date -d 'today 00:00' +%s)" '{printf "%.3f", $1 - m}')
clock="drawtext=fontfile=${font}:fontsize=64:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h-th-40:text='%{pts\\:hms\\:${midnight_offset}\\:24HH}'"
label="drawtext=fontfile=${font}:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=8:x=24:y=24:text='Mirror demo'"
setsid ffmpeg -hide_banner -loglevel error -re \
  -f lavfi -i "testsrc2=size=1280x720:rate=30,${clock},${label}" \
  -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -c:v libx264 -preset veryfast -tune zerolatency -g 30 -sc_threshold 0 -pix_fmt yuv420p \
  -c:a aac -b:a 128k -pes_payload_size 0 \
  -f mpegts "srt://127.0.0.1:${srt_port}?mode=caller&pkt_size=1316&streamid=demo" &
sender=$!
senders="$sender"
trap 'trap - INT TERM EXIT; kill $senders 2>/dev/null; kill -TERM $pid 2>/dev/null; wait $pid' INT TERM EXIT

# Three more feeds for the wall (DEMO_STREAMS=one publishes "demo" alone):
#   demo-hevc    HEVC from x265 (its own GOP structure: open GOP, B-frames),
#                which browsers cannot decode: played through its H.264
#                rendition
#   demo-bframes H.264 with B-frames at 29.97 fps, 640x360
#   demo-silent  a picture with digital silence: the wall flags it silent
#                after 10 s
extra_note="More feeds for the wall: make demo DEMO_STREAMS=all (HEVC, B-frames, silence)."
if [[ "${DEMO_STREAMS:-all}" != one ]]; then
  small_label() {
    echo "drawtext=fontfile=${font}:fontsize=22:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=16:y=16:text='$1'"
  }
  small_clock="drawtext=fontfile=${font}:fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8:x=(w-tw)/2:y=h-th-24:text='%{pts\\:hms\\:${midnight_offset}\\:24HH}'"
  publish() {  # NAME PICTURE SOUND VIDEO-ARGS...
    local name=$1 picture=$2 sound=$3
    shift 3
    setsid ffmpeg -hide_banner -loglevel error -re -f lavfi -i "$picture" -f lavfi -i "$sound" \
      "$@" -pix_fmt yuv420p -c:a aac -b:a 96k -pes_payload_size 0 \
      -f mpegts "srt://127.0.0.1:${srt_port}?mode=caller&pkt_size=1316&streamid=${name}" &
    senders="$senders $!"
  }
  publish demo-hevc "testsrc2=size=640x360:rate=25,${small_clock},$(small_label 'HEVC source')" \
    sine=frequency=660:sample_rate=48000 \
    -c:v libx265 -preset ultrafast -x265-params keyint=50:log-level=error
  publish demo-bframes "smptehdbars=size=640x360:rate=30000/1001,${small_clock},$(small_label 'H.264 B-frames 29.97')" \
    sine=frequency=880:sample_rate=48000 \
    -c:v libx264 -preset veryfast -bf 3 -g 60
  publish demo-silent "mandelbrot=size=640x360:rate=25,${small_clock},$(small_label 'silent feed')" \
    anullsrc=channel_layout=stereo:sample_rate=48000 \
    -c:v libx264 -preset veryfast -tune zerolatency -g 50
  extra_note="Also published: demo-hevc (HEVC, played through its H.264 rendition), demo-bframes
(H.264 with B-frames at 29.97 fps) and demo-silent (flagged silent on the wall)."
fi

# The player needs the first complete segment (about a second).
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${http_port}/streams/demo/index.m3u8" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$sender" 2>/dev/null; then
    echo "the test stream sender exited" >&2
    exit 1
  fi
  sleep 0.1
done

# HTTPS (HTTP/2) and HTTP/3 with the self-signed certificate Mirror made: a
# browser trusts it by its key's hash. Browsers move to HTTP/3 by themselves
# after the first answer (Alt-Svc), but only for certificates they trust
# fully; forcing QUIC for the origin plays over HTTP/3 from the first request.
https_port=${MIRROR_SERVER_HTTP3_PORT:-8443}
data_dir=${MIRROR_SERVER_DATA_DIR:-$(sed -n 's/^  data_dir: *"\{0,1\}\([^" #]*\).*/\1/p' configs/mirror.yaml)}
cert="${data_dir}/tls/self-signed.crt"
https_note=""
if [ -f "$cert" ]; then
  spki=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
  https_note="  over HTTPS (HTTP/2): https://127.0.0.1:${https_port}/?stream=demo
             chromium --ignore-certificate-errors-spki-list=${spki} https://127.0.0.1:${https_port}/?stream=demo
  over HTTP/3 (QUIC): chromium --ignore-certificate-errors-spki-list=${spki} --enable-quic \\
             --origin-to-force-quic-on=127.0.0.1:${https_port} https://127.0.0.1:${https_port}/?stream=demo
             (check: DevTools, Network, Protocol column reads h3)"
fi

cat <<MSG

Mirror is running (pid $pid), with test streams published over SRT.
  player:    http://127.0.0.1:${http_port}/?stream=demo
  wall:      https://127.0.0.1:${https_port}/wall (every stream side by side, with audio meters;
             over HTTPS each tile is low-latency: trust the certificate as below, or use
             http://127.0.0.1:${http_port}/wall at standard latency)
  console:   http://127.0.0.1:${admin_port}/ (the dashboard: every stream live, with actions)
${https_note}
  playlist:  http://127.0.0.1:${http_port}/streams/demo/index.m3u8 (source and 640x360 rendition)
  multiview: http://127.0.0.1:${http_port}/streams/demo/multiview.m3u8 (the 640x360 rendition only)
  thumbnail: http://127.0.0.1:${http_port}/streams/demo/thumbnail.jpg
  dvr:       http://127.0.0.1:${http_port}/streams/demo/dvr/index.m3u8 (the recording, kept 24 h in
             /tmp/mirror-cache; the player's bar below the picture seeks back in it and returns to live;
             ?start=&end= picks a window, e.g. ?start=$(date -u -d '-2 min' +%Y-%m-%dT%H:%M:%SZ)&end=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ))
  recordings: http://127.0.0.1:${admin_port}/api/v1/streams/demo/recordings
  streams:   http://127.0.0.1:${admin_port}/api/v1/streams/demo (transcoding, audio levels)
  health:    http://127.0.0.1:${admin_port}/health
  metrics:   http://127.0.0.1:${admin_port}/metrics
${extra_note}
Publish your own: ffmpeg ... -f mpegts "srt://HOST:${srt_port}?streamid=NAME"
Open the player in a browser; press Ctrl-C here to stop.

MSG
wait "$pid"
