#include "ingest/rtp_ingest.h"

#include "core/buffer_pool.h"
#include "core/ip_network.h"
#include "ingest/rtp/jitter_buffer.h"
#include "ingest/rtp/rtcp.h"
#include "ingest/rtp/rtp_aac_depacketizer.h"
#include "ingest/rtp/rtp_h264_depacketizer.h"
#include "ingest/rtp/rtp_hevc_depacketizer.h"
#include "ingest/rtp/rtp_mp2t_depacketizer.h"
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/sdp.h"
#include "ingest/rtp/sdp_codec_params.h"
#include "ingest/mpegts/pes_header.h"
#include "ingest/mpegts/ts_packet.h"
#include "ingest/rtp_track_clock.h"
#include "ingest/stream_id.h"
#include "ingest/ts_ingest.h"
#include "ingest/udp_socket.h"
#include "media/aac.h"
#include "media/video_access_unit.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>

namespace mirror::ingest {
namespace {

using SteadyClock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

// Raw tracks wait this long for their first Sender Report before falling back
// to arrival times.
constexpr std::chrono::seconds kSenderReportWait{1};

// Undeclared MPEG-TS senders still proving themselves: at most this many,
// each forgotten after this long without a packet, so an SSRC spray costs a
// bounded table and never a stream slot.
constexpr std::size_t kMaxCandidates = 64;
constexpr std::chrono::seconds kCandidateTimeout{5};

}  // namespace

// Packet-loss and timing figures of one RTP stream, written by the RTP thread
// once a second and read by the admin API and metrics from any thread.
struct RtpLinkStats {
  std::atomic<std::uint64_t> packets{0};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> reordered{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> late{0};
  std::atomic<std::uint64_t> resets{0};
  std::atomic<double> jitter_ms{0};
  std::atomic<std::uint64_t> sender_reports{0};

  nlohmann::json to_json() const {
    return {{"packets_received", packets.load()}, {"packets_lost", lost.load()},
            {"packets_reordered", reordered.load()}, {"packets_duplicate", duplicates.load()},
            {"packets_late", late.load()},          {"sequence_resets", resets.load()},
            {"jitter_ms", jitter_ms.load()},        {"sender_reports", sender_reports.load()}};
  }
};

struct RtpIngest::Impl {
  struct Stream;

  // A unit waiting for its track's clock to lock.
  struct PendingUnit {
    core::BufferRef bytes;
    std::uint32_t rtp_timestamp = 0;
    WallClock::time_point arrival;
  };

  struct Track {
    enum class Kind { kMp2t, kH264, kHevc, kAac };
    Kind kind = Kind::kMp2t;
    Stream* stream = nullptr;
    JitterBuffer jitter;
    std::optional<std::uint32_t> ssrc;
    RtpTrackClock clock;
    std::unique_ptr<RtpMp2tDepacketizer> mp2t;
    std::unique_ptr<RtpH264Depacketizer> h264;
    std::unique_ptr<RtpHevcDepacketizer> hevc;
    std::unique_ptr<RtpAacDepacketizer> aac;
    std::unique_ptr<TsIngest> ts;
    std::unique_ptr<media::VideoAccessUnitAssembler> video;
    media::CodecConfigPtr audio_config;
    bool audio_config_sent = false;
    std::vector<std::uint8_t> parameter_sets;  // Annex B, from the SDP
    bool parameter_sets_sent = false;
    std::deque<PendingUnit> pending;
    WallClock::time_point arrival;  // of the packet being processed

    Track(JitterBufferOptions o, std::uint32_t clock_rate)
        : jitter(o), clock(clock_rate, kSenderReportWait) {}
  };

  struct Stream {
    std::string name;
    std::shared_ptr<LiveStream> live;
    bool declared = false;
    std::string remote;
    std::optional<WallClock::time_point> epoch;
    std::vector<std::unique_ptr<Track>> tracks;
    std::vector<UdpSocket> sockets;  // declared streams own their ports
    SteadyClock::time_point last_packet = SteadyClock::now();
    bool publisher_present = false;
    std::shared_ptr<RtpLinkStats> link = std::make_shared<RtpLinkStats>();
  };

  // What a readable socket feeds.
  struct SocketRole {
    enum class Kind { kSharedRtp, kSharedRtcp, kTrackRtp, kStreamRtcp } kind;
    Track* track = nullptr;
    Stream* stream = nullptr;
  };

  core::RtpConfig config;
  StreamTable& table;
  core::MetricsRegistry& metrics;
  std::string bind_address;

  UdpSocket shared_rtp;
  UdpSocket shared_rtcp;
  std::map<int, SocketRole> roles;
  std::map<std::string, std::shared_ptr<Stream>> streams;
  std::map<std::pair<std::string, std::uint32_t>, Stream*> sessions;  // MP2T on the shared port
  std::map<std::uint32_t, std::string> ssrc_names;

  // Undeclared MPEG-TS senders on the shared port, before they have shown a
  // second of media (see UndeclaredSenders in the header).
  struct Candidate {
    SteadyClock::time_point last_seen{};
    std::optional<std::int64_t> first_pts;  // 90 kHz, of any PES
    std::int64_t span = 0;                  // furthest PTS seen after first_pts
  };
  std::map<std::pair<std::string, std::uint32_t>, Candidate> candidates;
  std::vector<core::IpNetwork> allowed_sources;

  std::thread thread;
  std::atomic<bool> running{false};
  std::mutex tasks_mutex;
  std::vector<std::function<void()>> tasks;

  core::CounterFamily& dropped;
  core::Counter& pending;
  core::log::KeyedLogLimiter drop_log{std::chrono::seconds(10)};

  Impl(core::RtpConfig c, StreamTable& t, core::MetricsRegistry& m, std::string bind)
      : config(std::move(c)),
        table(t),
        metrics(m),
        bind_address(std::move(bind)),
        dropped(m.counter("mirror_rtp_dropped_datagrams_total",
                          "RTP/RTCP datagrams dropped before reaching a stream, by reason",
                          {"reason"})),
        pending(m.counter("mirror_rtp_undeclared_pending_datagrams_total",
                          "Datagrams of undeclared MPEG-TS senders before they showed a second of media")
                    .get()) {
    for (const auto& text : config.allowed_sources) {
      if (auto n = core::IpNetwork::parse(text)) allowed_sources.push_back(*n);
    }
  }

  JitterBufferOptions jitter_options(std::uint32_t clock_rate) const {
    JitterBufferOptions o;
    o.delay = config.jitter_buffer;
    o.clock_rate = clock_rate;
    return o;
  }

  void post(std::function<void()> task) {
    std::lock_guard lock(tasks_mutex);
    tasks.push_back(std::move(task));
  }

  void drop(std::string_view reason, const std::string& from) {
    dropped.with({std::string(reason)}).inc();
    drop_log.log(std::string(reason), core::log::Level::kWarn, "rtp datagram dropped",
                 {{"reason", reason}, {"from", from}});
  }

  // --- the loop ---

  void run() {
    std::vector<pollfd> fds;
    while (running.load(std::memory_order_acquire)) {
      std::vector<std::function<void()>> due;
      {
        std::lock_guard lock(tasks_mutex);
        due.swap(tasks);
      }
      for (auto& t : due) t();
      fds.clear();
      for (const auto& [fd, role] : roles) fds.push_back({fd, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 5);
      for (const auto& p : fds) {
        if ((p.revents & POLLIN) != 0) read_socket(p.fd);
      }
      const auto now = SteadyClock::now();
      for (auto& [name, s] : streams) {
        for (auto& t : s->tracks) release(*t, now, false);
      }
      housekeeping(now);
    }
    for (auto& [name, s] : streams) {
      for (auto& t : s->tracks) release(*t, SteadyClock::now(), true);
    }
  }

  void read_socket(int fd) {
    auto it = roles.find(fd);
    if (it == roles.end()) return;
    const SocketRole role = it->second;
    for (int i = 0; i < 64; ++i) {  // bounded, so one busy socket cannot starve the others
      core::BufferRef buf = core::BufferPool::global().acquire(2048);
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      auto span = buf.writable();
      const ssize_t n = ::recvfrom(fd, span.data(), span.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) return;
      buf.resize(static_cast<std::size_t>(n));
      const auto arrival = WallClock::now();
      const std::string source = endpoint_text(from);
      switch (role.kind) {
        case SocketRole::Kind::kSharedRtp:
          on_shared_rtp(std::move(buf), source, reinterpret_cast<const sockaddr*>(&from), arrival);
          break;
        case SocketRole::Kind::kTrackRtp: on_track_rtp(*role.track, std::move(buf), source, arrival); break;
        case SocketRole::Kind::kSharedRtcp: on_rtcp(buf.bytes(), source, nullptr); break;
        case SocketRole::Kind::kStreamRtcp: on_rtcp(buf.bytes(), source, role.track); break;
      }
    }
  }

  // Whether the TS packets in `payload` carry a PES start with a PTS; if so,
  // that PTS (90 kHz). Null packets and garbage carry none.
  static void probe_pts(std::span<const std::uint8_t> payload, Candidate& c) {
    for (std::size_t at = 0; at + kTsPacketSize <= payload.size(); at += kTsPacketSize) {
      TsPacket p;
      if (parse_ts_packet(payload.subspan(at).first<kTsPacketSize>(), p) != TsPacketError::kNone ||
          p.pid == kNullPid || p.pid == kPatPid || !p.unit_start) {
        continue;
      }
      // An audio or video PES that starts here with a PTS.
      PesHeader pes;
      if (parse_pes_header(p.payload, pes) != PesHeaderStatus::kOk || !pes.pts ||
          pes.stream_id < 0xc0 || pes.stream_id > 0xef) {
        continue;
      }
      const std::int64_t pts = *pes.pts;
      if (!c.first_pts) {
        c.first_pts = pts;
        continue;
      }
      const std::int64_t d = pts - *c.first_pts;
      // Only forward steps count; a sender whose clock leaps is no proof.
      if (d > c.span && d < 10 * 90000) c.span = d;
    }
  }

  // An undeclared sender becomes a stream once it has shown a second of
  // media from an allowed network; until then it takes no stream slot.
  bool undeclared_sender_ready(const RtpPacket& pkt, const std::string& source,
                               const sockaddr* from) {
    if (!config.allow_undeclared) {
      drop("undeclared_sender", source);
      return false;
    }
    if (!core::any_contains(allowed_sources, from)) {
      drop("source_not_allowed", source);
      return false;
    }
    const auto key = std::make_pair(source, pkt.ssrc);
    auto it = candidates.find(key);
    if (it == candidates.end()) {
      if (candidates.size() >= kMaxCandidates) {
        drop("too_many_candidates", source);
        return false;
      }
      it = candidates.emplace(key, Candidate{}).first;
    }
    it->second.last_seen = SteadyClock::now();
    probe_pts(pkt.payload, it->second);
    if (it->second.span < 90000) {
      pending.inc();
      return false;
    }
    candidates.erase(it);
    return true;
  }

  void on_shared_rtp(core::BufferRef buf, const std::string& source, const sockaddr* from,
                     WallClock::time_point arrival) {
    RtpPacket pkt;
    if (parse_rtp_header(buf.bytes(), pkt) != RtpError::kNone) {
      drop("malformed", source);
      return;
    }
    if (pkt.payload_type != 33) {
      // Raw payloads need an SDP (POST /api/v1/streams) and their own ports.
      drop("undeclared_payload_type", source);
      return;
    }
    const auto key = std::make_pair(source, pkt.ssrc);
    auto it = sessions.find(key);
    Stream* s = it != sessions.end() ? it->second : nullptr;
    if (s == nullptr) {
      auto named = ssrc_names.find(pkt.ssrc);
      if (named == ssrc_names.end() && !undeclared_sender_ready(pkt, source, from)) return;
      char fallback[16];
      std::snprintf(fallback, sizeof fallback, "rtp-%08x", pkt.ssrc);
      const std::string name = named != ssrc_names.end() ? named->second : fallback;
      if (streams.count(name) != 0) {
        drop("name_in_use", source);
        return;
      }
      auto live = table.admit(name, "rtp");
      if (!live) {
        drop(live.error().code == core::ErrorCode::kCapacityFull ? "max_streams" : "refused",
             source);
        return;
      }
      auto stream = std::make_unique<Stream>();
      stream->name = name;
      stream->live = *live;
      stream->remote = source;
      auto track = std::make_unique<Track>(jitter_options(90000), 90000);
      track->kind = Track::Kind::kMp2t;
      track->stream = stream.get();
      track->ts = std::make_unique<TsIngest>(stream->live);
      Track* t = track.get();
      track->mp2t = std::make_unique<RtpMp2tDepacketizer>(
          [t](std::span<const std::uint8_t> ts, std::uint32_t) { t->ts->push(ts, t->arrival); });
      stream->tracks.push_back(std::move(track));
      s = stream.get();
      sessions[key] = s;
      streams[name] = std::shared_ptr<Stream>(std::move(stream));
    }
    on_track_rtp(*s->tracks.front(), std::move(buf), source, arrival);
  }

  void on_track_rtp(Track& t, core::BufferRef buf, const std::string& source,
                    WallClock::time_point arrival) {
    RtpPacket pkt;
    if (parse_rtp_header(buf.bytes(), pkt) != RtpError::kNone) {
      t.stream->live->record_error(StreamError::kRtpLoss);
      drop("malformed", source);
      return;
    }
    Stream& s = *t.stream;
    if (t.ssrc && *t.ssrc != pkt.ssrc) {
      // A new source: a discontinuity on this track's timeline.
      core::log::info("rtp source changed", {{"stream", s.name}, {"ssrc", pkt.ssrc}});
      restart_track(t);
    }
    t.ssrc = pkt.ssrc;
    s.last_packet = SteadyClock::now();
    if (!s.publisher_present) publisher_arrived(s, source);
    s.live->record_bytes(buf.size());
    t.arrival = arrival;
    if (t.kind != Track::Kind::kMp2t) t.clock.on_packet(pkt.timestamp, arrival);
    t.jitter.insert(std::move(buf), pkt, SteadyClock::now());
  }

  // `own_track`: the track whose RTCP port this is (declared streams); its
  // reports apply even before the first RTP packet has told us the SSRC.
  void on_rtcp(std::span<const std::uint8_t> bytes, const std::string& source, Track* own_track) {
    RtcpCompound c;
    if (parse_rtcp_compound(bytes, c) != RtcpError::kNone) {
      drop("malformed_rtcp", source);
      return;
    }
    for (const auto& sr : c.reports()) {
      if (own_track != nullptr) {
        if (!own_track->ssrc || *own_track->ssrc == sr.ssrc) {
          own_track->clock.on_sender_report(ntp_to_system_time(sr.ntp_timestamp), sr.rtp_timestamp);
          own_track->stream->link->sender_reports.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      for (auto& [name, s] : streams) {
        for (auto& t : s->tracks) {
          if (t->ssrc && *t->ssrc == sr.ssrc) {
            t->clock.on_sender_report(ntp_to_system_time(sr.ntp_timestamp), sr.rtp_timestamp);
            s->link->sender_reports.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
    }
  }

  void release(Track& t, SteadyClock::time_point now, bool flush) {
    std::vector<ReleasedPacket> out;
    if (flush) {
      t.jitter.flush(out);
    } else {
      t.jitter.pop_ready(now, out);
    }
    for (auto& r : out) {
      if (r.lost_before > 0) t.stream->live->record_error(StreamError::kRtpLoss, r.lost_before);
      const bool after_loss = r.lost_before > 0 || r.discontinuity;
      switch (t.kind) {
        case Track::Kind::kMp2t: t.mp2t->push(r.packet, after_loss); break;
        case Track::Kind::kH264: t.h264->push(r.packet, after_loss); break;
        case Track::Kind::kHevc: t.hevc->push(r.packet, after_loss); break;
        case Track::Kind::kAac: t.aac->push(r.packet, after_loss); break;
      }
    }
    if (t.kind != Track::Kind::kMp2t) drain_pending(t);
  }

  // --- raw tracks: units in, frames out ---

  void on_video_unit(Track& t, std::span<const std::uint8_t> annexb, std::uint32_t rtp) {
    t.pending.push_back({core::BufferPool::global().copy_of(annexb), rtp, t.arrival});
    drain_pending(t);
  }

  void on_audio_unit(Track& t, std::span<const std::uint8_t> raw, std::uint32_t rtp) {
    t.pending.push_back({core::BufferPool::global().copy_of(raw), rtp, t.arrival});
    drain_pending(t);
  }

  void drain_pending(Track& t) {
    if (!t.clock.locked()) {
      // Bounded: a stream whose clock never locks keeps its last few seconds.
      while (t.pending.size() > 1000) t.pending.pop_front();
      return;
    }
    Stream& s = *t.stream;
    while (!t.pending.empty()) {
      PendingUnit u = std::move(t.pending.front());
      t.pending.pop_front();
      if (!s.epoch) {
        // The stream timeline starts a little before its first sample, so that
        // samples of the other track that are slightly earlier stay positive.
        s.epoch = t.clock.wall_time(u.rtp_timestamp) - std::chrono::seconds(10);
      }
      const std::int64_t pts = t.clock.pts(u.rtp_timestamp, *s.epoch);
      if (t.kind == Track::Kind::kAac) {
        emit_audio(t, std::move(u), pts);
      } else {
        if (!t.parameter_sets_sent && !t.parameter_sets.empty()) {
          t.video->push(t.parameter_sets, pts, pts, u.arrival);
          t.parameter_sets_sent = true;
        }
        t.video->push(u.bytes.bytes(), pts, pts, u.arrival, true);
      }
    }
  }

  void emit_audio(Track& t, PendingUnit u, std::int64_t pts) {
    media::MediaFrame f;
    f.track = 1;
    f.kind = media::TrackKind::kAudio;
    f.codec = media::Codec::kAac;
    f.pts = f.dts = pts;
    f.duration = t.audio_config->samples_per_frame;
    f.keyframe = true;
    f.config = t.audio_config;
    f.config_changed = !t.audio_config_sent;
    t.audio_config_sent = true;
    f.arrival = u.arrival;
    f.payload = std::move(u.bytes);
    t.stream->live->publish(f);
  }

  void restart_track(Track& t) {
    t.jitter = JitterBuffer(t.jitter.options());
    t.clock.reset();
    t.pending.clear();
    t.parameter_sets_sent = false;
    t.audio_config_sent = false;
    if (t.video) t.video->reset();
    t.stream->live->mark_discontinuity();
  }

  // --- publishers coming and going ---

  void publisher_arrived(Stream& s, const std::string& source) {
    if (s.live->state() == StreamState::kReconnecting) {
      auto again = table.admit(s.name, "rtp");
      if (!again) return;
    }
    s.publisher_present = true;
    s.remote = source;
    auto link = s.link;
    s.live->set_publisher(source, [] {}, [link] { return link->to_json(); });
    core::log::info("rtp publisher active", {{"stream", s.name}, {"remote", source}});
  }

  void housekeeping(SteadyClock::time_point now) {
    static thread_local SteadyClock::time_point next = now;
    if (now < next) return;
    next = now + std::chrono::seconds(1);
    std::erase_if(candidates, [now](const auto& entry) {
      return now - entry.second.last_seen > kCandidateTimeout;
    });
    for (auto& [name, s] : streams) {
      JitterBufferStats sum;
      double jitter = 0;
      for (const auto& t : s->tracks) {
        const auto& st = t->jitter.stats();
        sum.received += st.received;
        sum.lost += st.lost;
        sum.reordered += st.reordered;
        sum.duplicates += st.duplicates;
        sum.late += st.late;
        sum.resets += st.resets;
        jitter = std::max(jitter, st.jitter * 1000.0 / t->clock.clock_rate());
      }
      auto& l = *s->link;
      l.packets = sum.received;
      l.lost = sum.lost;
      l.reordered = sum.reordered;
      l.duplicates = sum.duplicates;
      l.late = sum.late;
      l.resets = sum.resets;
      l.jitter_ms = jitter;
      if (s->publisher_present && now - s->last_packet > kIdleTimeout) {
        s->publisher_present = false;
        for (auto& t : s->tracks) {
          release(*t, now, true);
          if (t->video) t->video->flush();
          if (t->ts) t->ts->finish();
        }
        table.publisher_left(s->live);
      }
    }
    table.expire(now);
  }

  void forget(const std::string& name) {
    auto it = streams.find(name);
    if (it == streams.end()) return;
    Stream* s = it->second.get();
    std::erase_if(sessions, [s](const auto& kv) { return kv.second == s; });
    for (auto& sock : s->sockets) roles.erase(sock.fd());
    streams.erase(it);  // closes the declared ports
  }

  // --- declared streams ---

  core::Result<std::shared_ptr<Stream>> build_declared(const std::string& name,
                                                       const SessionDescription& sdp) {
    auto stream = std::make_shared<Stream>();
    stream->name = name;
    stream->declared = true;
    bool have_video = false, have_audio = false;
    for (const auto& m : sdp.media) {
      auto track = std::make_unique<Track>(jitter_options(m.clock_rate), m.clock_rate);
      track->stream = stream.get();
      Track* t = track.get();
      auto on_video = [this, t](std::span<const std::uint8_t> au, std::uint32_t rtp, bool) {
        on_video_unit(*t, au, rtp);
      };
      switch (m.encoding) {
        case RtpEncoding::kH264: {
          if (have_video) continue;
          auto p = h264_rtp_parameters(m);
          if (!p) return p.error();
          t->kind = Track::Kind::kH264;
          t->h264 = std::make_unique<RtpH264Depacketizer>(on_video);
          t->h264->set_parameters(*p);
          auto ps = t->h264->initial_parameter_sets();
          t->parameter_sets.assign(ps.begin(), ps.end());
          have_video = true;
          break;
        }
        case RtpEncoding::kHevc: {
          if (have_video) continue;
          auto p = hevc_rtp_parameters(m);
          if (!p) return p.error();
          t->kind = Track::Kind::kHevc;
          t->hevc = std::make_unique<RtpHevcDepacketizer>(on_video);
          t->hevc->set_parameters(*p);
          auto ps = t->hevc->initial_parameter_sets();
          t->parameter_sets.assign(ps.begin(), ps.end());
          have_video = true;
          break;
        }
        case RtpEncoding::kMpeg4Generic: {
          if (have_audio) continue;
          auto p = aac_rtp_parameters(m);
          if (!p) return p.error();
          auto asc = media::parse_audio_specific_config(p->audio_specific_config);
          if (!asc) {
            return core::Error(core::ErrorCode::kInvalidInput,
                               "line " + std::to_string(m.fmtp_line) +
                                   ": AAC config is not a valid AudioSpecificConfig");
          }
          auto cfg = std::make_shared<media::CodecConfig>();
          cfg->codec = media::Codec::kAac;
          cfg->kind = media::TrackKind::kAudio;
          cfg->timescale = m.clock_rate;
          cfg->audio_specific_config = p->audio_specific_config;
          cfg->audio_object_type = asc->object_type;
          cfg->sample_rate = asc->sample_rate;
          cfg->channels = asc->channel_config;
          cfg->codec_string = media::mp4a_codec_string(asc->object_type);
          t->audio_config = std::move(cfg);
          t->kind = Track::Kind::kAac;
          t->aac = std::make_unique<RtpAacDepacketizer>(
              *p, [this, t](std::span<const std::uint8_t> raw, std::uint32_t rtp) {
                on_audio_unit(*t, raw, rtp);
              });
          have_audio = true;
          break;
        }
        case RtpEncoding::kMp2t: {
          if (have_video || have_audio) continue;
          t->kind = Track::Kind::kMp2t;
          t->mp2t = std::make_unique<RtpMp2tDepacketizer>(
              [t](std::span<const std::uint8_t> ts, std::uint32_t) { t->ts->push(ts, t->arrival); });
          have_video = have_audio = true;
          break;
        }
      }
      const int port = m.port;
      auto rtp_socket = UdpSocket::bind(bind_address, port, config.buffer_size);
      if (!rtp_socket) return rtp_socket.error();
      auto rtcp_socket = UdpSocket::bind(bind_address, port + 1, 256 * 1024);
      if (!rtcp_socket) return rtcp_socket.error();
      stream->sockets.push_back(std::move(*rtp_socket));
      stream->sockets.push_back(std::move(*rtcp_socket));
      stream->tracks.push_back(std::move(track));
    }
    if (stream->tracks.empty()) {
      return core::Error(core::ErrorCode::kInvalidInput, "the SDP has no usable m= line");
    }
    return stream;
  }
};

RtpIngest::RtpIngest(core::RtpConfig config, StreamTable& streams, core::MetricsRegistry& metrics,
                     std::string bind_address)
    : impl_(std::make_shared<Impl>(std::move(config), streams, metrics, std::move(bind_address))) {
  // The table outlives this listener; the callback must not.
  impl_->table.on_stream_ended([weak = std::weak_ptr<Impl>(impl_)](const std::shared_ptr<LiveStream>& s) {
    auto impl = weak.lock();
    if (impl && s->protocol() == "rtp") {
      impl->post([raw = impl.get(), name = s->name()] { raw->forget(name); });
    }
  });
}

RtpIngest::~RtpIngest() { stop(); }

core::Status RtpIngest::start() {
  auto& i = *impl_;
  auto rtp = UdpSocket::bind(i.bind_address, i.config.port, i.config.buffer_size);
  if (!rtp) return rtp.error();
  auto rtcp = UdpSocket::bind(i.bind_address, i.config.port + 1, 256 * 1024);
  if (!rtcp) return rtcp.error();
  i.shared_rtp = std::move(*rtp);
  i.shared_rtcp = std::move(*rtcp);
  bound_port_ = i.shared_rtp.port();
  i.roles[i.shared_rtp.fd()] = {Impl::SocketRole::Kind::kSharedRtp};
  i.roles[i.shared_rtcp.fd()] = {Impl::SocketRole::Kind::kSharedRtcp};
  i.running = true;
  i.thread = std::thread([&i] { i.run(); });
  core::log::info("rtp listener ready", {{"port", bound_port_}, {"rtcp_port", bound_port_ + 1}});
  return core::Ok{};
}

void RtpIngest::stop() {
  auto& i = *impl_;
  if (!i.running.exchange(false)) return;
  if (i.thread.joinable()) i.thread.join();
  // Requests queued for the thread still get their answers (from here, the
  // thread being gone).
  std::vector<std::function<void()>> left;
  {
    std::lock_guard lock(i.tasks_mutex);
    left.swap(i.tasks);
  }
  for (auto& t : left) t();
  i.streams.clear();
  i.sessions.clear();
  i.roles.clear();
  i.shared_rtp = UdpSocket();
  i.shared_rtcp = UdpSocket();
}

void RtpIngest::declare(const std::string& name, const std::string& sdp_text, DeclareDone done) {
  auto& i = *impl_;
  if (!i.running) {
    done(core::Error(core::ErrorCode::kServiceUnavailable, "rtp ingest is not running"));
    return;
  }
  if (auto st = i.table.check(name); !st) return done(st.error());
  auto sdp = parse_sdp(sdp_text);
  if (!sdp) return done(sdp.error());
  auto built = i.build_declared(name, *sdp);
  if (!built) return done(built.error());
  auto live = i.table.admit(name, "rtp");
  if (!live) return done(live.error());
  std::shared_ptr<Impl::Stream> stream = *built;
  stream->live = *live;
  for (auto& t : stream->tracks) {
    if (t->kind == Impl::Track::Kind::kMp2t) {
      t->ts = std::make_unique<TsIngest>(stream->live);
    } else if (t->kind != Impl::Track::Kind::kAac) {
      t->video = std::make_unique<media::VideoAccessUnitAssembler>(
          t->kind == Impl::Track::Kind::kHevc ? media::Codec::kHevc : media::Codec::kH264,
          [live = stream->live](media::MediaFrame f) { live->publish(std::move(f)); }, 0);
    }
  }
  std::vector<int> ports;
  for (const auto& s : stream->sockets) ports.push_back(s.port());
  // The RTP thread takes the stream over and answers from there.
  i.post([&i, stream, ports, done = std::move(done)] {
    for (std::size_t k = 0; k < stream->sockets.size(); ++k) {
      const bool is_rtp = k % 2 == 0;
      i.roles[stream->sockets[k].fd()] = {
          is_rtp ? Impl::SocketRole::Kind::kTrackRtp : Impl::SocketRole::Kind::kStreamRtcp,
          stream->tracks[k / 2].get(), stream.get()};
    }
    i.streams[stream->name] = stream;
    core::log::info("rtp stream declared", {{"stream", stream->name}, {"tracks", stream->tracks.size()}});
    done(ports);
  });
}

void RtpIngest::bind_ssrc(std::uint32_t ssrc, const std::string& name, BindDone done) {
  if (!is_valid_stream_name(name)) {
    done(core::Error(core::ErrorCode::kInvalidInput, "invalid stream name", {{"name", name}}));
    return;
  }
  auto& i = *impl_;
  if (!i.running) {
    done(core::Error(core::ErrorCode::kServiceUnavailable, "rtp ingest is not running"));
    return;
  }
  i.post([&i, ssrc, name, done = std::move(done)] {
    i.ssrc_names[ssrc] = name;
    done(core::Ok{});
  });
}

core::Result<std::vector<int>> RtpIngest::declare(const std::string& name, const std::string& sdp) {
  auto result = std::make_shared<std::promise<core::Result<std::vector<int>>>>();
  declare(name, sdp, [result](core::Result<std::vector<int>> r) { result->set_value(std::move(r)); });
  auto future = result->get_future();
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "rtp ingest did not answer");
  }
  return future.get();
}

core::Status RtpIngest::bind_ssrc(std::uint32_t ssrc, const std::string& name) {
  auto result = std::make_shared<std::promise<core::Status>>();
  bind_ssrc(ssrc, name, [result](core::Status st) { result->set_value(std::move(st)); });
  auto future = result->get_future();
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "rtp ingest did not answer");
  }
  return future.get();
}

}  // namespace mirror::ingest
