#!/usr/bin/env bash
# Builds the bench preset (Release) and runs every benchmark. Each prints its
# figure as a ratio against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$(nproc)"
echo "== buffer pool against malloc"
build/bench/bench/bench_buffer_pool --benchmark_min_time=0.2
echo "== TS demux + access units against ffmpeg (1080p50 H.264, 50 Mbit/s, 60 s)"
build/bench/bench/bench_ts_ingest "$(bash scripts/bench-fixtures.sh h264)" 3
echo "== live SRT ingest (1, 5 and 25 publishers)"
bash scripts/bench-srt-ingest.sh
echo "== transcoding against ffmpeg (1080p50 HEVC and H.264, 50 Mbit/s, 10 s), with SSIM"
build/bench/bench/bench_transcode "$(bash scripts/bench-fixtures.sh hevc)" 3 --ssim
build/bench/bench/bench_transcode "$(bash scripts/bench-fixtures.sh h264-10)" 3 --ssim
echo "== live transcoding: HEVC 1080p50 streams at once, latency"
bash scripts/bench-transcode-live.sh
echo "== serving a part: HTTP/1.1 and HTTP/2 against nginx, HTTP/3 against Mirror's HTTP/2"
bash scripts/bench-http-serve.sh
echo "== memory per viewer connection, HTTP/2 and HTTP/3"
bash scripts/bench-connection-memory.sh
echo "== LL-HLS viewers one machine serves within a part"
bash scripts/bench-viewers.sh
echo "== behind Varnish: origin requests per object, latency the edge adds"
bash scripts/bench-edge.sh
