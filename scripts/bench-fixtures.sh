#!/usr/bin/env bash
# Makes (once) the reference benchmark fixtures in build/fixtures and prints the
# path of the one asked for:
#   h264     1080p50 H.264 50 Mbit/s + AAC, 60 s, ~380 MB (x264 ultrafast, no B-frames)
#   h264-10  the same, 10 s
#   hevc     1080p50 HEVC 50 Mbit/s + AAC, 10 s, from x265's own GOP structure
#            (preset faster: open GOP, 4 B-frames in a pyramid), keyframe every 1 s
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/fixtures
mkdir -p "$dir"
ten="$dir/h264_1080p50_50M_10s.ts"
if [[ ! -f "$ten" ]]; then
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=50 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset ultrafast \
    -b:v 50M -maxrate 50M -bufsize 50M -g 50 -pix_fmt yuv420p -c:a aac -b:a 128k \
    -f mpegts "$ten.tmp" && mv "$ten.tmp" "$ten"
fi
case "${1:-h264}" in
  h264)
    sixty="$dir/h264_1080p50_50M_60s.ts"
    if [[ ! -f "$sixty" ]]; then
      cat "$ten" "$ten" "$ten" "$ten" "$ten" "$ten" > "$sixty.tmp" && mv "$sixty.tmp" "$sixty"
    fi
    echo "$sixty"
    ;;
  h264-10)
    echo "$ten"
    ;;
  hevc)
    hevc="$dir/hevc_1080p50_50M_10s.ts"
    if [[ ! -f "$hevc" ]]; then
      ffmpeg -hide_banner -loglevel error -y -i "$ten" -c:v libx265 -preset faster \
        -x265-params log-level=error:keyint=50 -b:v 50M -maxrate 50M -bufsize 50M -c:a copy \
        -f mpegts "$hevc.tmp" && mv "$hevc.tmp" "$hevc"
    fi
    echo "$hevc"
    ;;
  *)
    echo "bench-fixtures: unknown fixture $1 (h264, h264-10, hevc)" >&2
    exit 2
    ;;
esac
