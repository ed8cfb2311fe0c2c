#include "relay/relay_service.h"

#include "core/logging.h"
#include "relay/origin_client.h"
#include "relay/origin_playlist.h"
#include "relay/rendition_puller.h"

#include <fmt/format.h>

#include <atomic>

namespace mirror::relay {
namespace {

using namespace std::chrono_literals;
using package::hls::Presentation;
using package::hls::VariantScope;
using Clock = std::chrono::steady_clock;

constexpr auto kMultivariantEvery = 2s;

}  // namespace

struct RelayService::Relay {
  std::string stream;
  std::string origin_node;
  std::string origin_url;
  std::function<std::string()> query;
  std::shared_ptr<Presentation> presentation;
  std::atomic<Clock::rep> last_asked{Clock::now().time_since_epoch().count()};
  std::atomic<bool> stopping{false};
  std::atomic<bool> finished{false};
  std::thread controller;
  std::mutex mutex;  // pullers
  std::map<std::string, std::unique_ptr<RenditionPuller>> pullers;

  void touch() { last_asked.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed); }
  Clock::time_point asked() const { return Clock::time_point(Clock::duration(last_asked.load(std::memory_order_relaxed))); }

  bool all_pullers_finished() {
    std::lock_guard lock(mutex);
    if (pullers.empty()) return false;
    for (const auto& [_, p] : pullers) {
      if (!p->finished()) return false;
    }
    return true;
  }

  // The controller: the origin's multivariant playlists, a puller per
  // rendition they name, again every 2 s.
  void run(int window_segments, RelayMetrics metrics) {
    OriginClient client(origin_url);
    client.abort_when(&stopping);
    const auto first = Clock::now();
    int failures = 0;
    while (!stopping.load()) {
      bool ok = true;
      std::vector<std::string> renditions;
      struct Variant {
        VariantScope scope;
        bool audio;
        const char* file;
        const char* extra;
      };
      for (const Variant& v : {Variant{VariantScope::kAll, true, "index.m3u8", ""},
                               Variant{VariantScope::kAll, false, "index.m3u8", "audio=none"},
                               Variant{VariantScope::kTranscoded, true, "multiview.m3u8", ""},
                               Variant{VariantScope::kTranscoded, false, "multiview.m3u8", "audio=none"}}) {
        std::string q = v.extra;
        if (query) q += (q.empty() ? "" : "&") + query();
        const std::string path = fmt::format("/streams/{}/{}{}{}", stream, v.file, q.empty() ? "" : "?", q);
        auto reply = client.get(path, 15s, 1024 * 1024);
        if (!reply) {
          ok = false;
          break;
        }
        if (reply->status == 404 && v.scope == VariantScope::kTranscoded) continue;  // no transcoding there
        if (reply->status != 200) {
          ok = false;
          break;
        }
        auto names = multivariant_renditions(reply->body);
        if (!names) {
          metrics.errors->with({"bad_playlist"}).inc();
          ok = false;
          break;
        }
        for (auto& n : *names) {
          if (std::find(renditions.begin(), renditions.end(), n) == renditions.end()) renditions.push_back(n);
        }
        presentation->set_relayed_multivariant(v.scope, v.audio, std::move(reply->body));
      }
      if (ok) {
        failures = 0;
        presentation->set_relayed_renditions(renditions);
        std::lock_guard lock(mutex);
        for (const auto& name : renditions) {
          if (pullers.contains(name)) continue;
          PullerSettings ps{origin_url, stream, name, query, window_segments};
          auto puller = std::make_unique<RenditionPuller>(std::move(ps), presentation, metrics);
          puller->start();
          pullers.emplace(name, std::move(puller));
        }
      } else if (++failures > 5 || (pullers.empty() && Clock::now() - first > 30s)) {
        break;
      }
      // Until the next look, unless every rendition's pull has ended.
      bool ended = all_pullers_finished();
      for (auto waited = 0ms; !ended && waited < kMultivariantEvery && !stopping.load(); waited += 100ms) {
        std::this_thread::sleep_for(100ms);
        ended = all_pullers_finished();
      }
      if (ended) break;
    }
    finished.store(true);
  }

  void stop() {
    stopping.store(true);
    if (controller.joinable()) controller.join();
    std::map<std::string, std::unique_ptr<RenditionPuller>> taken;
    {
      std::lock_guard lock(mutex);
      taken.swap(pullers);
    }
    for (auto& [_, p] : taken) p->stop();
    presentation->end_relayed(false);
  }
};

RelayService::RelayService(RelaySettings settings, state::StreamRegistry& registry, core::MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      registry_(registry),
      active_(metrics.gauge("mirror_relay_streams", "Streams of other nodes relayed by this node").get()),
      started_(metrics.counter("mirror_relay_started_total", "Relays started").get()),
      parts_(metrics.counter("mirror_relay_parts_total", "Parts pulled from origin nodes").get()),
      bytes_(metrics.counter("mirror_relay_bytes_total", "Media bytes pulled from origin nodes").get()),
      errors_(metrics.counter("mirror_relay_errors_total", "Relays of a rendition that stopped on an error, by cause",
                              {"cause"})) {}

RelayService::~RelayService() { stop(Clock::now()); }

std::shared_ptr<Presentation> RelayService::find(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return nullptr;
    auto it = relays_.find(name);
    if (it != relays_.end() && !it->second->finished.load()) {
      it->second->touch();
      return it->second->presentation;
    }
  }
  // Another node's, and that node is up?
  const auto origin = owner(name);
  if (!origin) return nullptr;
  const auto& [node, url] = *origin;

  auto relay = std::make_shared<Relay>();
  relay->stream = name;
  relay->origin_node = node;
  relay->origin_url = url;
  if (settings_.query) relay->query = [q = settings_.query, name] { return q(name); };
  relay->presentation = std::make_shared<Presentation>(name);
  relay->presentation->start_relay();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return nullptr;
    auto it = relays_.find(name);
    if (it != relays_.end()) {
      if (!it->second->finished.load()) return it->second->presentation;  // another request won
      retired_.push_back(it->second);
      relays_.erase(it);
    }
    if (relays_.size() >= settings_.max_relays) return nullptr;
    relays_.emplace(name, relay);
    RelayMetrics metrics{&parts_, &bytes_, &errors_};
    relay->controller = std::thread([relay, window = settings_.window_segments, metrics] { relay->run(window, metrics); });
  }
  wake_.notify_all();
  started_.inc();
  core::log::info("relaying another node's stream", {{"stream", name}, {"origin", node}, {"url", url}});
  return relay->presentation;
}

std::optional<std::pair<std::string, std::string>> RelayService::owner(const std::string& name) const {
  const auto record = registry_.find(name);
  if (!record || record->node == registry_.node_id() || record->status == "reconnecting") return std::nullopt;
  for (const auto& n : registry_.nodes()) {
    if (n.id == record->node && !n.url.empty()) return std::pair{record->node, n.url};
  }
  return std::nullopt;
}

std::shared_ptr<Presentation> RelayService::running(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = relays_.find(name);
  return it != relays_.end() && !it->second->finished.load() ? it->second->presentation : nullptr;
}

bool RelayService::forward_dvr(const std::string& name, std::string target, bool media, DvrForwarder::Reply reply,
                               bool* busy) {
  *busy = false;
  const auto origin = owner(name);
  if (!origin) return false;
  if (settings_.query) target += (target.find('?') == std::string::npos ? "?" : "&") + settings_.query(name);
  if (!dvr_.fetch(origin->second, std::move(target), media, std::move(reply))) *busy = true;
  return true;
}

std::vector<std::shared_ptr<Presentation>> RelayService::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Presentation>> out;
  for (const auto& [_, r] : relays_) out.push_back(r->presentation);
  return out;
}

core::Status RelayService::start() {
  std::lock_guard lock(mutex_);
  stopping_ = false;
  reaper_ = std::thread([this] { reap(); });
  dvr_.start();
  return core::Ok{};
}

void RelayService::reap() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, 100ms);
    const auto now = Clock::now();
    std::vector<std::shared_ptr<Relay>> done;
    for (auto it = relays_.begin(); it != relays_.end();) {
      Relay& r = *it->second;
      const bool idle = now - r.asked() > settings_.idle_timeout;
      if (idle || r.finished.load()) {
        core::log::info(idle ? "relay stopped: no viewer asked for a while" : "relay stopped: its origin ended",
                        {{"stream", r.stream}, {"origin", r.origin_node}});
        done.push_back(it->second);
        it = relays_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& r : retired_) done.push_back(std::move(r));
    retired_.clear();
    active_.set(static_cast<double>(relays_.size()));
    std::vector<std::shared_ptr<Presentation>> live;
    for (const auto& [_, r] : relays_) live.push_back(r->presentation);
    lock.unlock();
    for (const auto& p : live) p->expire_relayed(now);
    // Joining threads happens here, never on an event loop.
    for (auto& r : done) r->stop();
    lock.lock();
  }
}

void RelayService::stop(core::Deadline) {
  std::map<std::string, std::shared_ptr<Relay>> relays;
  std::vector<std::shared_ptr<Relay>> retired;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    relays.swap(relays_);
    retired.swap(retired_);
  }
  wake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  dvr_.stop();
  for (auto& [_, r] : relays) r->stop();
  for (auto& r : retired) r->stop();
  active_.set(0);
}

core::Health RelayService::health() const {
  std::lock_guard lock(mutex_);
  core::Health h;
  nlohmann::json streams = nlohmann::json::object();
  for (const auto& [name, r] : relays_) streams[name] = {{"origin", r->origin_node}, {"url", r->origin_url}};
  h.message = fmt::format("{} stream(s) relayed from other nodes", relays_.size());
  h.details = {{"relays", std::move(streams)}};
  return h;
}

}  // namespace mirror::relay
