#include "server/event_service.h"

#include "core/logging.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace mirror::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::seconds{1};
constexpr auto kLevelsTick = std::chrono::milliseconds{200};
constexpr auto kServerEvery = std::chrono::seconds{5};
constexpr auto kFrozenAfter = std::chrono::seconds{2};
constexpr auto kSilentAfter = std::chrono::seconds{10};
constexpr double kSilenceDbfs = -60.0;
constexpr std::size_t kHistory = 60;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What an operator reads for each error kind (ingest counts them).
const char* error_text(const std::string& kind) {
  if (kind == "continuity") return "MPEG-TS continuity counter jumped: packets were lost";
  if (kind == "pes") return "malformed PES packet";
  if (kind == "bitstream") return "malformed video or audio bitstream";
  if (kind == "transport") return "malformed transport packet";
  if (kind == "rtp_loss") return "RTP packets lost";
  if (kind == "bitrate") return "above the bitrate limit (ingestion.srt.max_bitrate)";
  return "error";
}

const nlohmann::json* find(const nlohmann::json& doc, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &doc;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

double number(const nlohmann::json& doc, std::initializer_list<const char*> path, double fallback = 0) {
  const auto* v = find(doc, path);
  return v && v->is_number() ? v->get<double>() : fallback;
}

nlohmann::json summary_of(const nlohmann::json& doc) {
  nlohmann::json s = nlohmann::json::object();
  for (const char* key :
       {"name", "state", "protocol", "remote_address", "started_at_ms", "video", "audio", "playback", "node", "remote"}) {
    if (auto it = doc.find(key); it != doc.end()) s[key] = *it;
  }
  const auto* path = find(doc, {"transcode", "path"});
  s["transcode_path"] = path ? *path : nlohmann::json(nullptr);
  return s;
}

}  // namespace

EventService::EventService(Sources sources, std::size_t max_clients)
    : sources_(std::move(sources)),
      hub_(std::make_shared<api::EventHub>(max_clients)),
      wall_hub_(std::make_shared<api::EventHub>(max_clients)) {
  // Additions and ends are told at once rather than at the next second.
  auto poke = [weak = std::weak_ptr<Wake>(wake_)](const std::shared_ptr<ingest::LiveStream>&) {
    auto wake = weak.lock();
    if (!wake) return;
    std::lock_guard lock(wake->mutex);
    wake->poke = true;
    wake->cv.notify_one();
  };
  if (sources_.streams) {
    sources_.streams->on_stream_added(poke);
    sources_.streams->on_stream_ended(poke);
  }
}

EventService::~EventService() { stop(Clock::now()); }

core::Status EventService::start() {
  {
    std::lock_guard lock(wake_->mutex);
    wake_->stopping = false;
  }
  tick();
  thread_ = std::thread([this] { run(); });
  return core::Ok{};
}

void EventService::stop(core::Deadline) {
  {
    std::lock_guard lock(wake_->mutex);
    wake_->stopping = true;
    wake_->cv.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  hub_->close();
  wall_hub_->close();
}

core::Health EventService::health() const {
  core::Health h;
  h.details = {{"clients", hub_->clients()}, {"wall_clients", wall_hub_->clients()}};
  return h;
}

void EventService::run() {
  Wake& w = *wake_;
  std::unique_lock lock(w.mutex);
  auto next = Clock::now() + kTick;
  auto next_levels = Clock::now() + kLevelsTick;
  while (!w.stopping) {
    w.cv.wait_until(lock, std::min(next, next_levels), [&w] { return w.stopping || w.poke; });
    if (w.stopping) break;
    const bool poked = std::exchange(w.poke, false);
    lock.unlock();
    const auto now = Clock::now();
    if (poked || now >= next) {
      const bool timed = now >= next;
      tick(now, timed);
      if (timed) next = now + kTick;
    }
    if (now >= next_levels) {
      if (wall_hub_->clients() > 0) levels_tick();
      next_levels = now + kLevelsTick;
    }
    lock.lock();
  }
}

nlohmann::json EventService::wall_summary(const nlohmann::json& summary) {
  nlohmann::json w{{"name", summary.value("name", "")}, {"state", summary.value("state", "")}};
  w["video"] = summary.contains("video");
  const auto* channels = find(summary, {"audio", "channels"});
  w["audio_channels"] = channels && channels->is_number() ? *channels : nlohmann::json(0);
  const auto* multiview = find(summary, {"playback", "multiview_url"});
  w["multiview_url"] = multiview ? *multiview : nlohmann::json(nullptr);
  const auto* thumbnail = find(summary, {"playback", "thumbnail_url"});
  w["thumbnail_url"] = thumbnail ? *thumbnail : nlohmann::json(nullptr);
  return w;
}

void EventService::levels_tick() {
  nlohmann::json streams = nlohmann::json::object();
  const auto list = sources_.streams ? sources_.streams->list() : std::vector<std::shared_ptr<ingest::LiveStream>>{};
  for (const auto& stream : list) {
    nlohmann::json doc = nlohmann::json::object();
    if (sources_.details) sources_.details(stream->name(), doc);
    const auto* channels = find(doc, {"transcode", "audio_levels", "channels"});
    if (!channels || !channels->is_array()) continue;
    nlohmann::json peak = nlohmann::json::array();
    nlohmann::json rms = nlohmann::json::array();
    for (const auto& ch : *channels) {
      peak.push_back(ch.contains("peak_dbfs") ? ch["peak_dbfs"] : nlohmann::json(nullptr));
      rms.push_back(ch.contains("rms_dbfs") ? ch["rms_dbfs"] : nlohmann::json(nullptr));
    }
    streams[stream->name()] = {{"peak", std::move(peak)}, {"rms", std::move(rms)}};
  }
  // The hello stays the one the last full round made.
  wall_hub_->publish({api::sse_event("levels", {{"time_ms", now_ms()}, {"streams", std::move(streams)}})},
                     std::nullopt);
}

nlohmann::json EventService::summary_with_history(const Tracked& t) const {
  nlohmann::json s = t.summary;
  s["bitrate_history_bps"] = nlohmann::json(std::vector<double>(t.bitrates.begin(), t.bitrates.end()));
  return s;
}

void EventService::tick(Clock::time_point now, bool timed) {
  std::vector<std::string> events;
  std::vector<std::string> wall_events;
  nlohmann::json figures = nlohmann::json::object();
  nlohmann::json health = nlohmann::json::object();
  std::map<std::string, bool> seen;
  // stream.added / stream.changed to dashboards and walls.
  auto announce = [&](const Tracked& t, bool added, bool changed) {
    if (added) {
      events.push_back(api::sse_event("stream.added", summary_with_history(t)));
      wall_events.push_back(api::sse_event("stream.added", wall_summary(t.summary)));
    }
    if (changed) {
      events.push_back(api::sse_event("stream.changed", t.summary));
      wall_events.push_back(api::sse_event("stream.changed", wall_summary(t.summary)));
    }
  };
  const auto streams = sources_.streams ? sources_.streams->list() : std::vector<std::shared_ptr<ingest::LiveStream>>{};
  for (const auto& stream : streams) {
    const std::string& name = stream->name();
    nlohmann::json doc = stream->to_json(true);
    if (sources_.details) sources_.details(name, doc);
    if (!sources_.node.empty()) doc["node"] = sources_.node;
    seen[name] = true;
    auto summary = summary_of(doc);
    auto [it, added] = tracked_.try_emplace(name);
    Tracked& t = it->second;
    if (added) {
      t.last_video = now;
      t.last_sound = now;
      t.video_frames = stream->video_frames();
      t.audio_frames = stream->audio_frames();
    }
    // The measured frame rate (sources without timing in their SPS) moves
    // by tenths from second to second: it is no change of the stream.
    auto steady = [](nlohmann::json j) {
      if (auto v = j.find("video"); v != j.end() && v->is_object()) v->erase("frame_rate");
      return j;
    };
    const bool changed = !added && steady(summary) != steady(t.summary);
    t.summary = std::move(summary);
    const double bitrate = number(doc, {"bitrate_1s_bps"});
    // One sample a second: a round called early (a stream added or ended)
    // adds none, so the history stays 60 s long.
    if (timed) {
      t.bitrates.push_back(bitrate);
      while (t.bitrates.size() > kHistory) t.bitrates.pop_front();
    }
    announce(t, added, changed);

    // Pictures and sound: a frozen picture or a silent feed while live.
    const bool live = stream->state() == ingest::StreamState::kLive;
    if (const auto frames = stream->video_frames(); frames != t.video_frames || !live) {
      t.video_frames = frames;
      t.last_video = now;
    }
    const auto* channels = find(doc, {"transcode", "audio_levels", "channels"});
    bool sound = channels == nullptr;  // without levels, any audio frame is sound
    if (channels && channels->is_array()) {
      for (const auto& ch : *channels) sound = sound || number(ch, {"rms_dbfs"}, -200) >= kSilenceDbfs;
    }
    if (const auto frames = stream->audio_frames(); (frames != t.audio_frames && sound) || !live) {
      t.last_sound = now;
    }
    t.audio_frames = stream->audio_frames();
    const bool has_video = doc.contains("video");
    const bool has_audio = doc.contains("audio");

    // Errors: which counter grew since the last look names the last error.
    if (const auto* errors = find(doc, {"errors"}); errors && errors->is_object()) {
      for (const auto& [kind, value] : errors->items()) {
        const auto count = value.is_number_unsigned() ? value.get<std::uint64_t>() : 0;
        auto& before = t.errors[kind];
        if (count > before) {
          t.last_error = {{"kind", kind}, {"text", error_text(kind)}, {"count", count - before}, {"at_ms", now_ms()}};
        }
        before = count;
      }
    }

    const bool frozen = live && has_video && now - t.last_video >= kFrozenAfter;
    const bool silent = live && has_audio && now - t.last_sound >= kSilentAfter;
    health[name] = {{"state", doc.value("state", "")}, {"frozen", frozen}, {"silent", silent}};
    nlohmann::json f{{"state", doc.value("state", "")},
                     {"bitrate_bps", bitrate},
                     {"frozen", frozen},
                     {"silent", silent},
                     {"last_error", t.last_error}};
    for (const char* key : {"link", "errors", "measured_frame_rate"}) {
      if (auto v = doc.find(key); v != doc.end()) f[key] = *v;
    }
    if (const auto* levels = find(doc, {"transcode", "audio_levels"})) f["levels"] = *levels;
    if (const auto* dropped = find(doc, {"transcode", "dropped_gops"})) f["dropped_gops"] = *dropped;
    figures[name] = std::move(f);
  }
  // Other nodes' streams: what the registry knows, no figures.
  for (auto& doc : sources_.cluster ? sources_.cluster() : std::vector<nlohmann::json>{}) {
    const std::string name = doc.value("name", "");
    if (name.empty() || seen.count(name)) continue;
    seen[name] = true;
    auto summary = summary_of(doc);
    summary["transcode_path"] = nullptr;
    auto [it, added] = tracked_.try_emplace(name);
    Tracked& t = it->second;
    const bool changed = !added && summary != t.summary;
    t.summary = std::move(summary);
    announce(t, added, changed);
    health[name] = {{"state", t.summary.value("state", "")}, {"frozen", false}, {"silent", false}};
  }
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    events.push_back(api::sse_event("stream.ended", {{"name", it->first}}));
    wall_events.push_back(api::sse_event("stream.ended", {{"name", it->first}}));
    it = tracked_.erase(it);
  }
  if (timed) events.push_back(api::sse_event("figures", {{"time_ms", now_ms()}, {"streams", std::move(figures)}}));
  if (sources_.server && (server_.is_null() || now - last_server_ >= kServerEvery)) {
    server_ = sources_.server();
    last_server_ = now;
    events.push_back(api::sse_event("server", server_));
  }
  nlohmann::json list = nlohmann::json::array();
  nlohmann::json wall_list = nlohmann::json::array();
  for (const auto& [name, t] : tracked_) {
    list.push_back(summary_with_history(t));
    wall_list.push_back(wall_summary(t.summary));
  }
  hub_->publish(events, api::sse_event("hello", {{"streams", std::move(list)}, {"server", server_}}));
  if (timed) wall_events.push_back(api::sse_event("health", {{"time_ms", now_ms()}, {"streams", std::move(health)}}));
  wall_hub_->publish(wall_events, api::sse_event("hello", {{"streams", std::move(wall_list)}}));
}

}  // namespace mirror::server
