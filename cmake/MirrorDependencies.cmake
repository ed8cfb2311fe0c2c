# Every third-party library comes from Debian 12 packages (scripts/setup-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(SRT REQUIRED IMPORTED_TARGET srt>=1.5)
# HTTP/2 over TLS (the Asio OpenSSL stream drives it).
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2>=1.52)
# The DVR's segment index (RETURNING needs 3.35; Debian 12 has 3.40).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.35)
# The cluster registry's Redis client (hiredis 0.14: RESP2, blocking contexts).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=0.14)
# S3 archiving: libcurl signs with SigV4 (CURLOPT_AWS_SIGV4, 7.75 and later).
find_package(CURL 7.75 REQUIRED)
# HTTP/3: ngtcp2 0.12 (QUIC, GnuTLS crypto) and nghttp3 0.8, the versions
# Debian 12 ships; their 0.x API differs from 1.x.
pkg_check_modules(QUIC REQUIRED IMPORTED_TARGET libngtcp2>=0.12 libngtcp2_crypto_gnutls>=0.12 libnghttp3>=0.8
                  gnutls>=3.7)
# FFmpeg 5.1 (libavcodec 59): decoding, scaling, resampling and encoding only.
# Not libavfilter: it pulls in libavformat and with it Debian's GnuTLS build of
# libsrt, whose symbols clash with the OpenSSL libsrt that ingest uses (two
# copies of libsrt's globals in one process crash at exit, at best). Only
# tests that compare against FFmpeg's filters link it.
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavcodec>=59 libavutil libswscale libswresample)
pkg_check_modules(FFMPEG_FILTERS IMPORTED_TARGET libavfilter)

if(MIRROR_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MIRROR_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
