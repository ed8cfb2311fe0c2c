#include "relay/rendition_puller.h"

#include "core/logging.h"
#include "relay/origin_client.h"
#include "relay/origin_playlist.h"

#include <fmt/format.h>

namespace mirror::relay {
namespace {

using namespace std::chrono_literals;
using package::hls::PartStore;

constexpr std::size_t kMaxMediaBytes = 64 * 1024 * 1024;
constexpr int kMaxFailures = 5;

// Why a pull stopped; the cause label of mirror_relay_errors_total.
struct Stop {
  std::string cause;  // "" when the origin ended the rendition
  std::string message;
};

class Pull {
 public:
  Pull(const PullerSettings& s, package::hls::Presentation& presentation, const RelayMetrics& metrics,
       const std::atomic<bool>& stopping)
      : s_(s), presentation_(presentation), metrics_(metrics), stopping_(stopping), client_(s.origin_url) {
    client_.abort_when(&stopping_);
  }

  Stop run() {
    int failures = 0;
    const auto started = std::chrono::steady_clock::now();
    while (!stopping_.load(std::memory_order_relaxed)) {
      const bool blocking = store_ != nullptr && hint_msn_.has_value();
      std::string path = fmt::format("/streams/{}/{}/playlist.m3u8", s_.stream, s_.rendition);
      std::string query = blocking ? fmt::format("_HLS_msn={}&_HLS_part={}", *hint_msn_, hint_part_) : "";
      if (s_.query) query += (query.empty() ? "" : "&") + s_.query();
      if (!query.empty()) path += "?" + query;
      const auto timeout = std::chrono::milliseconds(3000 * std::max(1, target_duration_)) + 2s;
      auto reply = client_.get(path, timeout, kMaxPlaylistBytes);
      if (!reply) {
        if (stopping_.load(std::memory_order_relaxed)) break;
        if (++failures > kMaxFailures) return {"unreachable", reply.error().message};
        std::this_thread::sleep_for(200ms * failures);
        continue;
      }
      if (reply->status == 404) return {"gone", "the origin no longer has this rendition"};
      if (reply->status == 503 || reply->status == 400) {
        // Not ready yet, a blocked reload that timed out, or a position the
        // origin no longer accepts: ask again without blocking.
        hint_msn_.reset();
        if (store_ == nullptr && std::chrono::steady_clock::now() - started > 30s) {
          return {"unready", "the origin had no playable segment within 30 s"};
        }
        std::this_thread::sleep_for(200ms);
        continue;
      }
      if (reply->status != 200) return {"status", fmt::format("the origin answered {}", reply->status)};
      failures = 0;
      auto playlist = parse_origin_playlist(reply->body);
      if (!playlist) return {"bad_playlist", playlist.error().message};
      if (auto stop = apply(*playlist)) return *stop;
      if (playlist->ended) {
        if (store_) store_->end();
        return {"", "the origin ended the rendition"};
      }
      hint_msn_ = playlist->hint_msn;
      hint_part_ = playlist->hint_part;
      if (store_ == nullptr) std::this_thread::sleep_for(std::chrono::duration<double>(playlist->part_target));
    }
    return {"", "stopped"};
  }

 private:
  core::Result<core::SharedBytes> fetch(const std::string& file, std::string* content_type = nullptr) {
    std::string path = fmt::format("/streams/{}/{}/{}", s_.stream, s_.rendition, file);
    if (s_.query) path += "?" + s_.query();
    for (int attempt = 0;; ++attempt) {
      auto reply = client_.get(path, 10s, kMaxMediaBytes);
      if (reply && reply->status == 200) {
        if (content_type != nullptr) *content_type = reply->content_type;
        metrics_.bytes->inc(reply->body.size());
        return core::SharedBytes::from_string(std::move(reply->body));
      }
      if (stopping_.load(std::memory_order_relaxed) || attempt >= 2 || (reply && reply->status == 404)) {
        return reply ? core::Error(core::ErrorCode::kNotFound, fmt::format("{}: the origin answered {}", file, reply->status))
                     : reply.error();
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  // The store begins at the oldest segment whose parts are listed.
  std::optional<Stop> begin(const OriginPlaylist& pl) {
    const OriginSegment* start = nullptr;
    for (const auto& seg : pl.segments) {
      if (!seg.parts.empty()) {
        start = &seg;
        break;
      }
    }
    if (start == nullptr) return std::nullopt;  // nothing to start from yet
    std::string type;
    auto init = fetch(fmt::format("init-{}.mp4", start->init_version), &type);
    if (!init) return Stop{"fetch", init.error().message};
    package::hls::PlaylistSettings settings;
    settings.window_segments = s_.window_segments;
    settings.first_msn = start->msn;
    const auto kind = type.starts_with("audio/") ? media::TrackKind::kAudio : media::TrackKind::kVideo;
    store_ = std::make_shared<PartStore>(s_.rendition, kind, settings);
    store_->set_target_duration(pl.target_duration);
    store_->set_part_target(pl.part_target);
    store_->set_init(*init, start->init_version);
    init_version_ = start->init_version;
    target_duration_ = pl.target_duration;
    next_msn_ = start->msn;
    presentation_.add_relayed(store_);
    core::log::info("relaying a rendition of another node's stream",
                    {{"stream", s_.stream}, {"rendition", s_.rendition}, {"origin", s_.origin_url},
                     {"first_msn", start->msn}});
    return std::nullopt;
  }

  std::optional<Stop> apply(const OriginPlaylist& pl) {
    if (store_ == nullptr) {
      if (auto stop = begin(pl)) return stop;
      if (store_ == nullptr) return std::nullopt;
    }
    for (const auto& seg : pl.segments) {
      if (seg.msn < next_msn_) continue;
      if (seg.msn > next_msn_) return Stop{"behind", "the relay fell a whole segment behind its origin"};
      if (!open_) {
        if (seg.parts.empty()) {
          if (seg.complete) return Stop{"behind", "the relay fell behind the parts its origin lists"};
          break;
        }
        if (seg.init_version != init_version_) {
          auto init = fetch(fmt::format("init-{}.mp4", seg.init_version));
          if (!init) return Stop{"fetch", init.error().message};
          store_->set_init(*init, seg.init_version);
          init_version_ = seg.init_version;
        }
        store_->begin_segment(seg.discontinuity, seg.program_date_time);
        open_ = true;
        next_part_ = 0;
      }
      if (seg.parts.size() < next_part_) return Stop{"bad_playlist", "the origin listed fewer parts than before"};
      for (std::size_t p = next_part_; p < seg.parts.size(); ++p) {
        if (stopping_.load(std::memory_order_relaxed)) return std::nullopt;
        auto bytes = fetch(fmt::format("part-{}.{}.m4s", seg.msn, p));
        if (!bytes) return Stop{"fetch", bytes.error().message};
        const bool last_listed = p + 1 == seg.parts.size();
        const bool next_starts_segment =
            last_listed && (seg.complete || (pl.hint_msn && *pl.hint_msn == seg.msn + 1 && pl.hint_part == 0));
        store_->begin_part(seg.parts[p].independent);
        store_->append({std::move(*bytes)});
        store_->close_part(seg.parts[p].duration, next_starts_segment);
        metrics_.parts->inc();
        next_part_ = p + 1;
      }
      if (!seg.complete) break;
      store_->close_segment();
      open_ = false;
      ++next_msn_;
    }
    return std::nullopt;
  }

 public:
  const std::shared_ptr<PartStore>& store() const { return store_; }

 private:
  const PullerSettings& s_;
  package::hls::Presentation& presentation_;
  const RelayMetrics& metrics_;
  const std::atomic<bool>& stopping_;
  OriginClient client_;
  std::shared_ptr<PartStore> store_;
  std::optional<std::int64_t> hint_msn_;
  int hint_part_ = 0;
  int target_duration_ = 1;
  std::int64_t init_version_ = -1;
  std::int64_t next_msn_ = 0;
  std::size_t next_part_ = 0;
  bool open_ = false;
};

}  // namespace

RenditionPuller::RenditionPuller(PullerSettings settings, std::shared_ptr<package::hls::Presentation> presentation,
                                 RelayMetrics metrics)
    : settings_(std::move(settings)), presentation_(std::move(presentation)), metrics_(metrics) {}

RenditionPuller::~RenditionPuller() { stop(); }

void RenditionPuller::start() {
  thread_ = std::thread([this] { run(); });
}

void RenditionPuller::stop() {
  stopping_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

void RenditionPuller::run() {
  Pull pull(settings_, *presentation_, metrics_, stopping_);
  const Stop stop = pull.run();
  // The origin ended the rendition, or no longer has it: so do its viewers
  // here. Lost on the way (unreachable, behind): waiting viewers get 503
  // and ask again.
  if (pull.store()) {
    if (stop.cause.empty() || stop.cause == "gone") {
      pull.store()->end();
    } else {
      pull.store()->expire(PartStore::Clock::time_point::max());
    }
  }
  if (!stop.cause.empty()) {
    metrics_.errors->with({stop.cause}).inc();
    core::log::warn("relay of a rendition stopped",
                    {{"stream", settings_.stream}, {"rendition", settings_.rendition}, {"origin", settings_.origin_url},
                     {"cause", stop.cause}, {"error", stop.message}});
  }
  finished_.store(true, std::memory_order_release);
}

}  // namespace mirror::relay
