// N paced SRT publishers of one MPEG-TS file, from one thread: the load for
// the live ingest benchmark (25 real encoders would not fit on the machine).
// Each stream sends 1316-byte messages at a constant bitrate, looping the file.
// Prints what it sent and what SRT reports lost or dropped, per run:
//   srt_sender streams=N bitrate=B seconds=S sent_bytes=... lost=... dropped=... retransmitted=...
// Usage: bench_srt_sender HOST PORT STREAMS BITRATE_BPS SECONDS FILE [NAME_PREFIX]
#include <srt/srt.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s HOST PORT STREAMS BITRATE_BPS SECONDS FILE [PREFIX]\n", argv[0]);
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const int streams = std::atoi(argv[3]);
  const double bitrate = std::atof(argv[4]);
  const double seconds = std::atof(argv[5]);
  const std::string prefix = argc > 7 ? argv[7] : "bench";
  std::ifstream in(argv[6], std::ios::binary);
  std::vector<char> data((std::istreambuf_iterator<char>(in)), {});
  data.resize(data.size() / 1316 * 1316);
  if (data.empty()) return 1;

  srt_startup();
  srt_setloglevel(3);
  std::vector<SRTSOCKET> socks;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  for (int i = 0; i < streams; ++i) {
    SRTSOCKET s = srt_create_socket();
    const std::string sid = prefix + std::to_string(i);
    srt_setsockflag(s, SRTO_STREAMID, sid.data(), static_cast<int>(sid.size()));
    int latency = 120;
    srt_setsockflag(s, SRTO_LATENCY, &latency, sizeof latency);
    if (srt_connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::fprintf(stderr, "connect %s: %s\n", sid.c_str(), srt_getlasterror_str());
      return 1;
    }
    bool no = false;
    srt_setsockflag(s, SRTO_SNDSYN, &no, sizeof no);
    socks.push_back(s);
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::size_t> offset(socks.size(), 0);
  std::vector<double> sent(socks.size(), 0);
  std::uint64_t refused = 0;
  for (;;) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) break;
    const double due = bitrate / 8 * elapsed;
    for (std::size_t i = 0; i < socks.size(); ++i) {
      while (sent[i] + 1316 <= due) {
        if (srt_sendmsg(socks[i], data.data() + offset[i], 1316, -1, 1) < 0) {
          ++refused;  // send buffer full: the receiver cannot keep up
          break;
        }
        sent[i] += 1316;
        offset[i] = (offset[i] + 1316) % data.size();
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long long lost = 0, dropped = 0, retrans = 0;
  double total = 0;
  for (std::size_t i = 0; i < socks.size(); ++i) {
    SRT_TRACEBSTATS st{};
    srt_bstats(socks[i], &st, 0);
    lost += st.pktSndLossTotal;
    dropped += st.pktSndDropTotal;
    retrans += st.pktRetransTotal;
    total += sent[i];
    srt_close(socks[i]);
  }
  std::printf(
      "srt_sender streams=%d bitrate=%.0f seconds=%.0f sent_bytes=%.0f lost=%lld dropped=%lld "
      "retransmitted=%lld refused=%llu\n",
      streams, bitrate, seconds, total, lost, dropped, retrans,
      static_cast<unsigned long long>(refused));
  srt_cleanup();
  return 0;
}
