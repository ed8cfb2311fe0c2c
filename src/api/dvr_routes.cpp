#include "api/dvr_routes.h"

#include "api/delivery_answers.h"
#include "api/dvr_window.h"
#include "api/playback_access.h"
#include "core/errors.h"
#include "ingest/stream_id.h"
#include "package/hls/delivery_request.h"
#include "package/hls/dvr_playlist.h"
#include "package/hls/playlist_text.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>

namespace mirror::api {
namespace {

using storage::RecordingSession;
using storage::SegmentIndex;
using storage::SegmentKey;

// A segment that starts up to this long before a window's start still
// overlaps it (segments are far shorter).
constexpr std::int64_t kLookBehindMs = 60'000;
// Rows one playlist may list: 24 h of 0.5 s segments, with room to spare.
constexpr std::size_t kMaxPlaylistSegments = 400'000;

package::hls::DvrSegment dvr_segment(const storage::SegmentRecord& r) {
  return {r.key.session, r.key.media_sequence, r.discontinuity_sequence, r.init_version, r.program_date_time_ms,
          r.duration_us};
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void respond_index_error(const http::ExchangePtr& ex) {
  respond_error(ex, core::ErrorCode::kServiceUnavailable, "the segment index cannot be read");
}

struct Routes {
  DvrContext ctx;
  std::int64_t retention_ms = 0;

  bool live(const std::string& name) const {
    auto presentation = ctx.find ? ctx.find(name) : nullptr;
    return presentation && !presentation->ended();
  }

  // The stream's name from the path, or a 400 (and nothing).
  std::optional<std::string> stream_name(const http::ExchangePtr& ex) const {
    std::string name(ex->request().path_param("name"));
    if (!ingest::is_valid_stream_name(name)) {
      respond_error(ex, core::ErrorCode::kInvalidInput,
                         "not a stream name (letters, digits, '-' and '_', at most 64)");
      return std::nullopt;
    }
    return name;
  }

  // Checks what every DVR request needs; answers and returns false if not.
  bool usable(const http::ExchangePtr& ex) const {
    if (ctx.storage == nullptr || !ctx.storage->recording()) {
      respond_error(ex, core::ErrorCode::kNotFound, "DVR recording is off (storage.dvr.enabled)");
      return false;
    }
    return true;
  }

  // What URIs in a playlist carry: the window, and the token when signed.
  std::string carried_query(const http::ExchangePtr& ex, const DvrWindow* window) const {
    std::string q = window ? window->query() : std::string();
    if (ctx.signed_urls) {
      if (!q.empty()) q += '&';
      q += "token=" + ex->request().query_param("token").value_or("");
    }
    return q;
  }

  // Another node records `name`: the playlist comes from there. False when
  // this node's index answers.
  bool forwarded(const http::ExchangePtr& ex, const std::string& name, bool media, std::string_view type,
                 std::string target = {}) const {
    if (!ctx.forward || live(name)) return false;
    bool busy = false;
    if (target.empty()) target = ex->request().path + (ex->request().query.empty() ? "" : "?" + ex->request().query);
    const bool theirs = ctx.forward(
        name, target, media,
        [ex, type = std::string(type)](core::Result<std::string> text) {
          if (!text) return respond_error(ex, text.error().code, text.error().message);
          http::Response r(200, type, std::move(*text));
          r.headers.set("Cache-Control", "no-cache");
          ex->respond(std::move(r));
        },
        &busy);
    if (theirs && busy) respond_unavailable(ex, "too many DVR requests wait for other nodes; try again");
    return theirs;
  }

  void run(const http::ExchangePtr& ex, storage::StorageService::ReadWork work) const {
    if (!ctx.storage->read(std::move(work))) respond_unavailable(ex, "the DVR readers are busy; try again");
  }

  void multivariant(const http::ExchangePtr& ex) const {
    auto name = stream_name(ex);
    if (!name || !usable(ex)) return;
    if (forwarded(ex, *name, false, kPlaylistType)) return;
    const auto now = now_ms();
    auto window = parse_dvr_window(ex->request().query, now, retention_ms);
    if (!window.error.empty()) {
      respond_error(ex, core::ErrorCode::kInvalidInput, window.error);
      return;
    }
    const std::string query = carried_query(ex, &window);
    run(ex, [ex, name = *name, window, query, now](SegmentIndex* index) {
      if (index == nullptr) return respond_index_error(ex);
      auto sessions = index->sessions(name);
      if (!sessions) return respond_index_error(ex);
      // The newest session in the window that described its renditions.
      const RecordingSession* chosen = nullptr;
      for (const auto& s : *sessions) {
        const bool overlaps = (!window.end_ms || s.started_ms < *window.end_ms) &&
                              (!window.start_ms || s.ended_ms.value_or(now) >= *window.start_ms);
        if (overlaps && !s.playlist.empty()) chosen = &s;
      }
      if (chosen == nullptr) {
        return respond_error(ex, core::ErrorCode::kNotFound, "no recording of this stream in that window");
      }
      http::Response r(200, kPlaylistType, query.empty() ? chosen->playlist : add_query_to_uris(chosen->playlist, query));
      r.headers.set("Cache-Control", "no-cache");
      ex->respond(std::move(r));
    });
  }

  void media_playlist(const http::ExchangePtr& ex) const {
    auto name = stream_name(ex);
    if (!name || !usable(ex)) return;
    std::string rendition(ex->request().path_param("rendition"));
    if (!ingest::is_valid_stream_name(rendition)) {
      return respond_error(ex, core::ErrorCode::kInvalidInput, "not a rendition name");
    }
    if (forwarded(ex, *name, true, kPlaylistType)) return;
    const auto now = now_ms();
    auto window = parse_dvr_window(ex->request().query, now, retention_ms);
    if (!window.error.empty()) return respond_error(ex, core::ErrorCode::kInvalidInput, window.error);
    // The playlist grows while the stream records into the window.
    const bool complete = !live(*name) || (window.end_ms && *window.end_ms <= now);
    package::hls::DvrPlaylistOptions options;
    options.complete = complete;
    options.query = carried_query(ex, nullptr);
    run(ex, [ex, name = *name, rendition, window, options, now, retention = retention_ms](SegmentIndex* index) {
      if (index == nullptr) return respond_index_error(ex);
      const std::int64_t from = window.start_ms ? *window.start_ms - kLookBehindMs : now - retention - kLookBehindMs;
      const std::int64_t to = window.end_ms.value_or(std::numeric_limits<std::int64_t>::max());
      auto rows = index->window(name, rendition, from, to, kMaxPlaylistSegments);
      if (!rows) return respond_index_error(ex);
      // The segments whose middle is in the window: the playlist then lasts
      // as long as the window, within one segment. A window shorter than a
      // segment gets the segment where it starts.
      std::vector<package::hls::DvrSegment> segments;
      segments.reserve(rows->size());
      const storage::SegmentRecord* covering = nullptr;
      for (const auto& r : *rows) {
        const std::int64_t middle = r.program_date_time_ms + r.duration_us / 2000;
        const std::int64_t end = r.program_date_time_ms + r.duration_us / 1000;
        if (window.start_ms && r.program_date_time_ms <= *window.start_ms && end > *window.start_ms) covering = &r;
        if ((window.start_ms && middle < *window.start_ms) || (window.end_ms && middle >= *window.end_ms)) continue;
        segments.push_back(dvr_segment(r));
      }
      if (segments.empty() && covering != nullptr) segments.push_back(dvr_segment(*covering));
      if (segments.empty()) {
        return respond_error(ex, core::ErrorCode::kNotFound,
                                  "no recorded segment of this rendition in that window");
      }
      http::Response r(200, kPlaylistType, package::hls::dvr_media_playlist(segments, options));
      r.headers.set("Cache-Control", options.complete ? "public, max-age=60" : "no-cache");
      ex->respond(std::move(r));
    });
  }

  void file(const http::ExchangePtr& ex) const {
    auto name = stream_name(ex);
    if (!name || !usable(ex)) return;
    std::string rendition(ex->request().path_param("rendition"));
    const std::string_view session_text = ex->request().path_param("session");
    std::int64_t session = 0;
    auto [end, err] = std::from_chars(session_text.data(), session_text.data() + session_text.size(), session);
    if (!ingest::is_valid_stream_name(rendition) || err != std::errc() ||
        end != session_text.data() + session_text.size() || session <= 0) {
      return respond_error(ex, core::ErrorCode::kInvalidInput, "not a recorded file's path");
    }
    using Kind = package::hls::RenditionFile::Kind;
    const auto file = package::hls::parse_rendition_file(ex->request().path_param("file"));
    if (file.kind != Kind::kInit && file.kind != Kind::kSegment) {
      return respond_error(ex, core::ErrorCode::kNotFound, "no such file");
    }
    const SegmentKey key{*name, rendition, session, file.kind == Kind::kSegment ? file.number : 0};
    const bool segment = file.kind == Kind::kSegment;
    const std::int64_t version = file.number;
    const std::string_view type =
        rendition == "audio" || rendition == "transcoded-audio" ? "audio/mp4" : "video/mp4";
    // Another node's recording: its relayed live window here, else S3 by
    // the time its playlist gave the segment (at=UNIX_MS).
    std::shared_ptr<package::hls::PartStore> relayed;
    if (ctx.relayed) {
      if (auto presentation = ctx.relayed(*name)) relayed = presentation->store(rendition);
    }
    std::optional<std::int64_t> at;
    if (auto text = ex->request().query_param("at")) {
      std::int64_t v = 0;
      auto [e, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
      if (ec != std::errc() || e != text->data() + text->size() || v < 0 || v > 9'000'000'000'000) {
        return respond_error(ex, core::ErrorCode::kInvalidInput, "at: not a time in Unix milliseconds");
      }
      at = v;
    }
    run(ex, [ex, key, segment, version, type, relayed, at, storage = ctx.storage](SegmentIndex* index) {
      // From the cache (files appear whole: written aside, then renamed), or
      // from S3 once the cache has let it go.
      auto bytes = segment ? storage->read_segment(index, key) : storage->read_init(key, version);
      if (!bytes && bytes.error().code == core::ErrorCode::kNotFound && relayed) {
        if (segment) {
          if (auto parts = relayed->segment(key.media_sequence)) {
            return ex->respond(bytes_response(type, kImmutable, std::move(*parts)));
          }
        } else if (auto init = relayed->init_segment(version)) {
          return ex->respond(bytes_response(type, kImmutable, {std::move(*init)}));
        }
      }
      if (!bytes && bytes.error().code == core::ErrorCode::kNotFound && segment && at) {
        bytes = storage->read_archived(key, *at);
      }
      if (!bytes) {
        if (bytes.error().code == core::ErrorCode::kNotFound) {
          return respond_error(ex, core::ErrorCode::kNotFound,
                                    segment ? "no such recorded segment" : "no such init segment");
        }
        return respond_error(ex, core::ErrorCode::kServiceUnavailable, bytes.error().message);
      }
      if (segment) storage->touch({key});
      ex->respond(bytes_response(type, kImmutable, {std::move(*bytes)}));
    });
  }

  void sessions(const http::ExchangePtr& ex) const {
    auto name = stream_name(ex);
    if (!name || !usable(ex)) return;
    // (Also GET /api/v1/streams/NAME/recordings on the admin port: the same document.)
    if (forwarded(ex, *name, false, "application/json", "/streams/" + *name + "/dvr/sessions.json")) return;
    const bool is_live = live(*name);
    run(ex, [ex, name = *name, is_live, retention = retention_ms](SegmentIndex* index) {
      if (index == nullptr) return respond_index_error(ex);
      auto sessions = index->sessions(name);
      if (!sessions) return respond_index_error(ex);
      const auto now = now_ms();
      const std::int64_t oldest = now - retention;
      nlohmann::json list = nlohmann::json::array();
      for (std::size_t i = 0; i < sessions->size(); ++i) {
        const auto& s = (*sessions)[i];
        const bool recording = !s.ended_ms && is_live && i + 1 == sessions->size();
        const std::int64_t end = s.ended_ms.value_or(now);
        if (end < oldest) continue;
        const std::int64_t from = std::max(s.started_ms, oldest);
        nlohmann::json j{{"id", s.id},
                         {"started_at", package::hls::program_date_time_text(s.started_ms)},
                         {"ended_at", s.ended_ms ? nlohmann::json(package::hls::program_date_time_text(*s.ended_ms))
                                                 : nlohmann::json(nullptr)},
                         {"duration_s", static_cast<double>(end - s.started_ms) / 1000.0},
                         {"recording", recording}};
        DvrWindow w;
        w.start_ms = from;
        if (!recording) w.end_ms = std::max(end, from + 1);
        j["dvr_url"] = "/streams/" + name + "/dvr/index.m3u8?" + w.query();
        list.push_back(std::move(j));
      }
      nlohmann::json body{{"stream", name},
                          {"retention_s", retention / 1000},
                          {"oldest_retained", package::hls::program_date_time_text(oldest)},
                          {"dvr_url", "/streams/" + name + "/dvr/index.m3u8"},
                          {"sessions", std::move(list)}};
      http::Response r = http::json_response(200, body.dump());
      r.headers.set("Cache-Control", "no-cache");
      ex->respond(std::move(r));
    });
  }
};

std::shared_ptr<Routes> make_routes(DvrContext context) {
  auto routes = std::make_shared<Routes>();
  routes->retention_ms = context.storage
                             ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                   context.storage->config().dvr.retention_time)
                                   .count()
                             : 0;
  routes->ctx = std::move(context);
  return routes;
}

}  // namespace

void register_dvr_routes(http::Router& router, DvrContext context) {
  auto routes = make_routes(std::move(context));
  router.get("/streams/{name}/dvr/index.m3u8", [routes](const http::ExchangePtr& ex) { routes->multivariant(ex); });
  router.get("/streams/{name}/dvr/sessions.json", [routes](const http::ExchangePtr& ex) { routes->sessions(ex); });
  router.get("/streams/{name}/dvr/{rendition}/playlist.m3u8",
             [routes](const http::ExchangePtr& ex) { routes->media_playlist(ex); });
  router.get("/streams/{name}/dvr/{rendition}/{session}/{file}",
             [routes](const http::ExchangePtr& ex) { routes->file(ex); });
}

void register_recordings_route(http::Router& router, DvrContext context) {
  auto routes = make_routes(std::move(context));
  router.get("/api/v1/streams/{name}/recordings", [routes](const http::ExchangePtr& ex) { routes->sessions(ex); });
}

}  // namespace mirror::api
