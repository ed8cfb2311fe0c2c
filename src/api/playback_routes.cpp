#include "api/playback_routes.h"

#include "core/errors.h"
#include "api/delivery_answers.h"
#include "api/playback_access.h"
#include "api/thumbnail_routes.h"
#include "package/hls/delivery_request.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mirror::api {
namespace {

using package::hls::PartStore;
using package::hls::Presentation;
using package::hls::StreamPackager;
using package::hls::VariantScope;

// A playlist answering _HLS_msn/_HLS_part has a URL of its own (the URL
// names a version of the playlist) and is the same for everyone who asks:
// an edge may keep it for several target durations (kBlockingTargets).
// Plain reloads change with every part.
constexpr int kBlockingTargets = 3;
constexpr std::string_view kLivePlaylistCache = "no-cache";
void not_found(const http::ExchangePtr& ex, std::string message) {
  respond_error(ex, core::ErrorCode::kNotFound, std::move(message));
}

void bad_request(const http::ExchangePtr& ex, std::string message) {
  respond_error(ex, core::ErrorCode::kInvalidInput, std::move(message));
}

http::Response playlist_response(core::SharedBytes text, bool blocking, int target_duration) {
  const std::string blocking_cache = "public, max-age=" + std::to_string(kBlockingTargets * std::max(1, target_duration));
  return bytes_response(kPlaylistType, blocking ? std::string_view(blocking_cache) : kLivePlaylistCache,
                        {std::move(text)});
}

// The playlist as this request may use it: with its token in every URI
// when playback URLs are signed (the access filter has checked it).
std::string for_request(bool signed_urls, const http::ExchangePtr& ex, std::string_view text) {
  if (!signed_urls) return std::string(text);
  return add_query_to_uris(text, "token=" + ex->request().query_param("token").value_or(""));
}

std::shared_ptr<Presentation> find_stream(const PlaybackContext& ctx, const http::ExchangePtr& ex) {
  const std::string name(ex->request().path_param("name"));
  auto presentation = ctx.find(name);
  if (!presentation) not_found(ex, "no such stream");
  return presentation;
}

// Calls `done(timed_out)` once every rendition in `scope` is playable (or
// gone for good, or `deadline` passed). The multivariant playlist must not be
// written before: a rendition left out would never be played. A rendition
// that has no media yet may turn out never to get any (a video rendition of
// an audio-only source), so waits are short and the question is asked again.
void when_ready(const std::shared_ptr<Presentation>& presentation, VariantScope scope,
                PartStore::Clock::time_point deadline, std::function<void(bool)> done) {
  auto waiting = presentation->pending(scope);
  if (!waiting || presentation->ended()) {
    done(false);
    return;
  }
  const auto now = PartStore::Clock::now();
  if (now >= deadline) {
    done(true);
    return;
  }
  const auto until = std::min(deadline, now + std::chrono::milliseconds(250));
  waiting->wait({}, until,
                [presentation, scope, deadline, done = std::move(done)](package::hls::WaitOutcome,
                                                                         core::SharedBytes) {
                  when_ready(presentation, scope, deadline, done);
                });
}

void serve_multivariant(const PlaybackContext& ctx, const http::ExchangePtr& ex, VariantScope scope) {
  // ?audio=none: the video variants without their audio group (a muted
  // wall tile); any other value is a mistake worth saying.
  const auto audio = ex->request().query_param("audio");
  if (audio && *audio != "none") {
    bad_request(ex, "audio: the only value is \"none\" (the video variants without sound)");
    return;
  }
  auto presentation = find_stream(ctx, ex);
  if (!presentation) return;
  auto answer = [signed_urls = ctx.signed_urls, ex, presentation, scope, with_audio = !audio](bool timed_out) {
    std::string text = presentation->multivariant_playlist(scope, with_audio);
    if (text.empty()) {
      if (presentation->ended()) {
        not_found(ex, "stream ended before it could be played");
      } else if (scope == VariantScope::kTranscoded && !timed_out) {
        not_found(ex, "stream has no transcoded rendition");
      } else {
        respond_unavailable(ex, timed_out ? "stream has no complete segment yet" : "stream not ready");
      }
      return;
    }
    http::Response r(200, kPlaylistType, for_request(signed_urls, ex, text));
    r.headers.set("Cache-Control", kLivePlaylistCache);
    ex->respond(std::move(r));
  };
  when_ready(presentation, scope, PartStore::Clock::now() + ctx.startup_wait, answer);
}

void serve_playlist(const PlaybackContext& ctx, const http::ExchangePtr& ex,
                    const std::shared_ptr<Presentation>& presentation,
                    const std::shared_ptr<PartStore>& store) {
  const auto directives = package::hls::parse_delivery_directives(ex->request().query);
  if (!directives.error.empty()) {
    bad_request(ex, directives.error);
    return;
  }
  const auto& request = directives.request;
  if (store->ready()) {
    if (auto problem = store->check_request(request)) {
      bad_request(ex, *problem);
      return;
    }
  }
  const bool blocking = request.msn.has_value();
  // RFC 8216bis §6.2.5.2: a blocked request that cannot be answered within
  // three target durations gets 503.
  const auto wait = store->ready() ? std::chrono::milliseconds(3000 * store->target_duration())
                                   : ctx.startup_wait;
  store->wait(request, PartStore::Clock::now() + wait,
              [signed_urls = ctx.signed_urls, ex, blocking, presentation, store](package::hls::WaitOutcome outcome,
                                                                                 core::SharedBytes text) {
                if (outcome == package::hls::WaitOutcome::kTimeout) {
                  respond_unavailable(ex, "the requested part was not published in time");
                  return;
                }
                if (text.empty()) {
                  not_found(ex, "stream ended before it could be played");
                  return;
                }
                if (signed_urls) text = core::SharedBytes::from_string(for_request(true, ex, text.view()));
                ex->respond(playlist_response(std::move(text), blocking, store->target_duration()));
              });
}

// A part of a segment whose bytes left memory: its byte range of the
// segment's file in the DVR's cache. False when there is none.
bool serve_spilled_part(const PlaybackContext& ctx, const http::ExchangePtr& ex,
                        const std::shared_ptr<Presentation>& presentation, const std::shared_ptr<PartStore>& store,
                        package::hls::PartPosition position) {
  if (!ctx.recorded || presentation->recording_session() <= 0) return false;
  const auto range = store->spilled_part(position);
  if (!range) return false;
  const std::string_view type = store->content_type();
  const bool asked = ctx.recorded(
      presentation->stream(), store->rendition(), presentation->recording_session(), position.msn,
      [ex, type, range = *range](core::Result<core::SharedBytes> bytes) {
        if (!bytes || bytes->size() < range.offset + range.length) {
          not_found(ex, "part is no longer in memory and not in the cache");
          return;
        }
        ex->respond(bytes_response(type, kImmutable, {bytes->slice(range.offset, range.length)}));
      });
  if (!asked) respond_unavailable(ex, "the cache's readers are busy");
  return true;
}

void serve_part(const PlaybackContext& ctx, const http::ExchangePtr& ex,
                const std::shared_ptr<Presentation>& presentation, const std::shared_ptr<PartStore>& store,
                package::hls::PartPosition position) {
  const std::string_view type = store->content_type();
  std::vector<core::SharedBytes> complete;
  // The part being written is streamed: the head goes out with its first
  // chunk, then each chunk as the packager appends it.
  auto begun = std::make_shared<bool>(false);
  auto sink = [ex, begun, type](const std::vector<core::SharedBytes>& chunks, bool done, bool gone) {
    if (gone && !*begun) {
      not_found(ex, "part was not produced");
      return;
    }
    if (!chunks.empty() && !*begun) {
      *begun = true;
      http::Headers h;
      h.set("Content-Type", type);
      h.set("Cache-Control", kImmutable);
      ex->begin(200, std::move(h));
    }
    for (const auto& c : chunks) ex->write(c);
    if (done || gone) {
      if (!*begun) {
        // Complete without bytes cannot happen for a published part; answer anyway.
        ex->respond(bytes_response(type, kImmutable, {}));
        return;
      }
      ex->end();
    }
  };
  switch (store->part(position, &complete, std::move(sink))) {
    case PartStore::PartLookup::kComplete:
      ex->respond(bytes_response(type, kImmutable, std::move(complete)));
      return;
    case PartStore::PartLookup::kStreaming:
      return;
    case PartStore::PartLookup::kNotFound:
      if (!serve_spilled_part(ctx, ex, presentation, store, position)) not_found(ex, "no such part in the live window");
      return;
  }
}

void serve_rendition_file(const PlaybackContext& ctx, const http::ExchangePtr& ex, bool waited = false) {
  auto presentation = find_stream(ctx, ex);
  if (!presentation) return;
  auto store = presentation->rendition(ex->request().path_param("rendition")).store;
  if (!store && !waited && presentation->relayed() && !presentation->ended()) {
    // A relay that has just started may not have this rendition yet.
    when_ready(presentation, VariantScope::kAll, PartStore::Clock::now() + ctx.startup_wait,
               [&ctx, ex](bool) { serve_rendition_file(ctx, ex, true); });
    return;
  }
  if (!store) {
    not_found(ex, "no such rendition");
    return;
  }
  using Kind = package::hls::RenditionFile::Kind;
  const auto file = package::hls::parse_rendition_file(ex->request().path_param("file"));
  switch (file.kind) {
    case Kind::kPlaylist:
      serve_playlist(ctx, ex, presentation, store);
      return;
    case Kind::kInit:
      if (auto init = store->init_segment(file.number)) {
        ex->respond(bytes_response(store->content_type(), kImmutable, {*init}));
      } else {
        not_found(ex, "no such init segment");
      }
      return;
    case Kind::kSegment:
      if (auto seg = store->segment(file.number)) {
        ex->respond(bytes_response(store->content_type(), kImmutable, std::move(*seg)));
      } else if (ctx.recorded && presentation->recording_session() > 0 && store->in_window(file.number)) {
        // Older than the parts of the playlist: from the cache.
        const std::string_view type = store->content_type();
        const bool asked = ctx.recorded(
            presentation->stream(), store->rendition(), presentation->recording_session(), file.number,
            [ex, type](core::Result<core::SharedBytes> bytes) {
              if (bytes) {
                ex->respond(bytes_response(type, kImmutable, {std::move(*bytes)}));
              } else {
                not_found(ex, "segment is no longer in memory and not in the cache");
              }
            });
        if (!asked) respond_unavailable(ex, "the cache's readers are busy");
      } else {
        not_found(ex, "no such segment in the live window");
      }
      return;
    case Kind::kPart:
      serve_part(ctx, ex, presentation, store, {file.number, file.part});
      return;
    case Kind::kUnknown:
      not_found(ex, "no such file");
      return;
  }
}

nlohmann::json feed_json(const StreamPackager& p) {
  const auto s = p.summary();
  nlohmann::json j = nlohmann::json::object();
  if (s.has_video) {
    j["video"] = {{"codec", s.video_codec}, {"width", s.width}, {"height", s.height},
                  {"frame_rate", s.frame_rate}, {"gradual_refresh", s.gradual_refresh},
                  {"segments_without_keyframe", s.segments_without_keyframe}};
  }
  if (s.has_audio) {
    j["audio"] = {{"codec", s.audio_codec}, {"sample_rate", s.sample_rate}, {"channels", s.channels}};
  }
  return j;
}

void serve_stream_list(const PlaybackContext& ctx, const http::ExchangePtr& ex) {
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& presentation : ctx.list()) {
    auto source = presentation->source();
    if (!source) continue;
    const std::string& name = presentation->stream();
    const bool live = presentation->pending(VariantScope::kAll) == nullptr;
    nlohmann::json j{{"name", name},
                     {"state", presentation->ended() ? "ended" : source->ready() && live ? "live" : "starting"},
                     {"url", "/streams/" + name + "/index.m3u8"}};
    j.update(feed_json(*source));
    nlohmann::json renditions = nlohmann::json::array();
    for (const auto& f : presentation->feeds()) {
      if (f.role != package::hls::VariantRole::kTranscoded) continue;
      const auto s = f.packager->summary();
      if (!s.has_video && !s.has_audio) continue;
      nlohmann::json r = feed_json(*f.packager);
      r["name"] = f.packager->names().video;
      renditions.push_back(std::move(r));
    }
    if (!renditions.empty()) {
      j["renditions"] = std::move(renditions);
      j["multiview_url"] = "/streams/" + name + "/multiview.m3u8";
    }
    if (ctx.thumbnail) j["thumbnail_url"] = "/streams/" + name + "/thumbnail.jpg";
    streams.push_back(std::move(j));
  }
  if (ctx.cluster) {
    // Other nodes' streams, served here through a relay.
    for (const auto& remote : ctx.cluster()) {
      const std::string& name = remote.first;
      const bool here = std::any_of(streams.begin(), streams.end(), [&](const auto& s) { return s["name"] == name; });
      if (here) continue;
      streams.push_back({{"name", name}, {"state", remote.second}, {"url", "/streams/" + name + "/index.m3u8"}});
    }
  }
  http::Response r = http::json_response(200, nlohmann::json{{"streams", streams}}.dump());
  r.headers.set("Cache-Control", "no-cache");
  ex->respond(std::move(r));
}

}  // namespace

void register_playback_routes(http::Router& router, PlaybackContext context) {
  auto ctx = std::make_shared<PlaybackContext>(std::move(context));
  router.get("/streams", [ctx](const http::ExchangePtr& ex) { serve_stream_list(*ctx, ex); });
  router.get("/streams/{name}/index.m3u8",
             [ctx](const http::ExchangePtr& ex) { serve_multivariant(*ctx, ex, VariantScope::kAll); });
  router.get("/streams/{name}/multiview.m3u8", [ctx](const http::ExchangePtr& ex) {
    serve_multivariant(*ctx, ex, VariantScope::kTranscoded);
  });
  if (ctx->thumbnail) {
    register_thumbnail_route(router, "/streams/{name}/thumbnail.jpg", ctx->thumbnail, kLivePlaylistCache);
  }
  router.get("/streams/{name}/{rendition}/{file}",
             [ctx](const http::ExchangePtr& ex) { serve_rendition_file(*ctx, ex); });
}

}  // namespace mirror::api
