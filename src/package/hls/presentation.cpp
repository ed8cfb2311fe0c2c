#include "package/hls/presentation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>

namespace mirror::package::hls {
namespace {

double average_bitrate(const PartStore& store) {
  const double secs = store.published_seconds();
  return secs > 0 ? static_cast<double>(store.bytes_published()) * 8 / secs : 0.0;
}

// Browsers decode H.264 (and AAC), from an intra picture on; a source in
// anything else, or one whose segments start on intra-refresh recovery
// points or without a keyframe at all, goes after the renditions made for
// them, so that players starting with the first variant start with
// something they can play.
bool browsers_decode(const StreamPackager::Summary& s) {
  return !s.has_video ||
         (s.video_codec.starts_with("avc") && !s.gradual_refresh && !s.segments_without_keyframe);
}

struct AudioGroup {
  std::shared_ptr<PartStore> store;
  StreamPackager::Summary summary;
};

}  // namespace

Presentation::Presentation(std::string stream, std::int64_t session)
    : stream_(std::move(stream)), session_(session) {}

Presentation::~Presentation() {
  // Stores may outlive this presentation (held by readers): cut their link back.
  for (const Feed& f : feeds()) {
    f.packager->video_store()->set_report_source({});
    f.packager->audio_store()->set_report_source({});
  }
  for (const auto& store : relayed_stores()) store->set_report_source({});
}

void Presentation::start_relay() {
  std::lock_guard lock(mutex_);
  relayed_ = true;
  relay_gate_ = std::make_shared<PartStore>("relay", media::TrackKind::kVideo, PlaylistSettings{});
}

void Presentation::set_relayed_renditions(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  relayed_names_ = std::move(names);
  relayed_names_known_ = true;
}

void Presentation::expire_relayed(PartStore::Clock::time_point now) {
  std::shared_ptr<PartStore> gate;
  {
    std::lock_guard lock(mutex_);
    gate = relay_gate_;
  }
  if (gate) gate->expire(now);
  for (const auto& s : relayed_stores()) s->expire(now);
}

void Presentation::add_relayed(std::shared_ptr<PartStore> store) {
  {
    std::lock_guard lock(mutex_);
    relayed_ = true;
    relayed_stores_.push_back(store);
  }
  const PartStore* self = store.get();
  store->set_report_source([this, self] { return reports_for(self); });
}

void Presentation::set_relayed_multivariant(VariantScope scope, bool audio, std::string text) {
  std::lock_guard lock(mutex_);
  relayed_ = true;
  relayed_multivariant_[scope == VariantScope::kAll ? 0 : 1][audio ? 1 : 0] = std::move(text);
}

void Presentation::end_relayed(bool ended) {
  std::vector<std::shared_ptr<PartStore>> stores;
  {
    std::lock_guard lock(mutex_);
    relay_ended_ = true;
    stores = relayed_stores_;
  }
  for (const auto& s : stores) {
    if (ended) {
      s->end();
    } else {
      s->expire(PartStore::Clock::time_point::max());
    }
  }
}

bool Presentation::relayed() const {
  std::lock_guard lock(mutex_);
  return relayed_;
}

std::vector<std::shared_ptr<PartStore>> Presentation::relayed_stores() const {
  std::lock_guard lock(mutex_);
  return relayed_stores_;
}

void Presentation::add(std::shared_ptr<StreamPackager> packager, VariantRole role) {
  {
    std::lock_guard lock(mutex_);
    feeds_.push_back({packager, role});
  }
  for (const auto& store : {packager->video_store(), packager->audio_store()}) {
    const PartStore* self = store.get();
    store->set_report_source([this, self] { return reports_for(self); });
  }
}

std::vector<Presentation::Feed> Presentation::feeds() const {
  std::lock_guard lock(mutex_);
  return feeds_;
}

std::shared_ptr<StreamPackager> Presentation::source() const {
  std::lock_guard lock(mutex_);
  for (const Feed& f : feeds_) {
    if (f.role == VariantRole::kSource) return f.packager;
  }
  return nullptr;
}

std::shared_ptr<PartStore> Presentation::store(std::string_view rendition) const {
  for (const Feed& f : feeds()) {
    if (auto s = f.packager->store(rendition)) return s;
  }
  for (const auto& s : relayed_stores()) {
    if (s->rendition() == rendition) return s;
  }
  return nullptr;
}

Presentation::Rendition Presentation::rendition(std::string_view name) const {
  for (const auto& s : relayed_stores()) {
    if (s->rendition() == name) return {nullptr, s};
  }
  for (const Feed& f : feeds()) {
    auto store = f.packager->store(name);
    if (!store) continue;
    const auto s = f.packager->summary();
    // A feed's track without media is no rendition (an audio-only source has
    // no video rendition), unless the feed has no media yet at all.
    const bool video = store->kind() == media::TrackKind::kVideo;
    if (video ? (!s.has_video && s.has_audio) : !s.has_audio) return {};
    return {f.packager, store};
  }
  return {};
}

bool Presentation::ended() const {
  {
    std::lock_guard lock(mutex_);
    if (relayed_) return relay_ended_;
  }
  auto src = source();
  return src != nullptr && src->ended();
}

std::vector<RenditionReport> Presentation::reports_for(const PartStore* self) const {
  std::vector<RenditionReport> out;
  for (const Feed& f : feeds()) {
    for (const auto& other : {f.packager->video_store(), f.packager->audio_store()}) {
      if (other.get() == self) continue;
      auto last = other->last_part();
      if (!last) continue;
      out.push_back({fmt::format("../{}/playlist.m3u8", other->rendition()), last->msn, last->part});
    }
  }
  for (const auto& other : relayed_stores()) {
    if (other.get() == self) continue;
    auto last = other->last_part();
    if (!last) continue;
    out.push_back({fmt::format("../{}/playlist.m3u8", other->rendition()), last->msn, last->part});
  }
  return out;
}

std::shared_ptr<PartStore> Presentation::pending(VariantScope scope) const {
  {
    std::lock_guard lock(mutex_);
    if (relayed_) {
      if (relay_ended_) return nullptr;
      // Every rendition the origin lists, until it has a complete segment here.
      if (!relayed_names_known_) return relay_gate_;
      for (const auto& name : relayed_names_) {
        const bool have = std::any_of(relayed_stores_.begin(), relayed_stores_.end(),
                                      [&](const auto& s) { return s->rendition() == name; });
        if (!have) return relay_gate_;
      }
      for (const auto& s : relayed_stores_) {
        if (!s->ready() && !s->ended()) return s;
      }
      return nullptr;
    }
  }
  for (const Feed& f : feeds()) {
    if (scope == VariantScope::kTranscoded && f.role != VariantRole::kTranscoded) continue;
    const auto& p = *f.packager;
    if (p.ended()) continue;  // what it has is all it will have
    const auto s = p.summary();
    if (!s.has_video && !s.has_audio) return p.video_store();
    if (s.has_video && !p.video_store()->ready()) return p.video_store();
    if (s.has_audio && !p.audio_store()->ready()) return p.audio_store();
  }
  return nullptr;
}

std::string Presentation::multivariant_playlist(VariantScope scope, bool audio_groups) const {
  {
    std::lock_guard lock(mutex_);
    if (relayed_) return relayed_multivariant_[scope == VariantScope::kAll ? 0 : 1][audio_groups ? 1 : 0];
  }
  const auto all = feeds();
  std::vector<Feed> in_scope;
  for (const Feed& f : all) {
    if (scope == VariantScope::kAll || f.role == VariantRole::kTranscoded) in_scope.push_back(f);
  }
  // Order: source first when browsers decode it, else after the renditions.
  std::stable_sort(in_scope.begin(), in_scope.end(), [](const Feed& a, const Feed& b) {
    auto rank = [](const Feed& f) {
      if (f.role == VariantRole::kTranscoded) return 1;
      return browsers_decode(f.packager->summary()) ? 0 : 2;
    };
    return rank(a) < rank(b);
  });

  // The shared audio of the transcoded renditions: the first transcoded feed
  // with playable audio.
  std::optional<AudioGroup> transcoded_audio;
  for (const Feed& f : all) {
    if (f.role != VariantRole::kTranscoded) continue;
    const auto s = f.packager->summary();
    if (s.has_audio && f.packager->audio_store()->ready()) {
      transcoded_audio = AudioGroup{f.packager->audio_store(), s};
      break;
    }
  }

  std::string media;
  std::string variants;
  std::vector<std::string> groups_written;
  auto write_group = [&](const AudioGroup& g) {
    const std::string& name = g.store->rendition();
    if (std::find(groups_written.begin(), groups_written.end(), name) != groups_written.end()) return;
    groups_written.push_back(name);
    media += fmt::format(
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{0}\",NAME=\"{0}\",DEFAULT=YES,AUTOSELECT=YES,"
        "CHANNELS=\"{1}\",URI=\"{0}/playlist.m3u8\"\n",
        name, std::max(1, g.summary.channels));
  };
  auto bandwidths = [](std::initializer_list<const PartStore*> stores) {
    double peak = 0;
    double avg = 0;
    for (const PartStore* s : stores) {
      if (s == nullptr) continue;
      peak += s->peak_bitrate();
      avg += average_bitrate(*s);
    }
    // BANDWIDTH must not be below any segment's rate; round up a little.
    return std::pair{static_cast<std::uint64_t>(std::ceil(std::max(peak, avg) * 1.05)) + 1,
                     static_cast<std::uint64_t>(std::ceil(avg)) + 1};
  };

  for (const Feed& f : in_scope) {
    const auto& p = *f.packager;
    const auto s = p.summary();
    const bool video = s.has_video && p.video_store()->ready();
    const bool audio = s.has_audio && p.audio_store()->ready();
    if (video) {
      std::optional<AudioGroup> group;
      if (!audio_groups) {
        // The video alone.
      } else if (audio) {
        group = AudioGroup{p.audio_store(), s};
      } else if (f.role == VariantRole::kTranscoded && transcoded_audio) {
        group = transcoded_audio;
      }
      const auto [bandwidth, average] =
          bandwidths({p.video_store().get(), group ? group->store.get() : nullptr});
      std::string codecs = s.video_codec;
      if (group) codecs += "," + group->summary.audio_codec;
      variants += fmt::format(
          "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{}",
          bandwidth, average, codecs, s.width, s.height);
      if (s.frame_rate > 0) variants += fmt::format(",FRAME-RATE={:.3f}", s.frame_rate);
      if (group) {
        write_group(*group);
        variants += fmt::format(",AUDIO=\"{}\"", group->store->rendition());
      }
      variants += fmt::format("\n{}/playlist.m3u8\n", p.video_store()->rendition());
    } else if (audio && !s.has_video) {
      // A feed without video is an audio-only variant.
      const auto [bandwidth, average] = bandwidths({p.audio_store().get()});
      variants += fmt::format("#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"\n{}/playlist.m3u8\n",
                              bandwidth, average, s.audio_codec, p.audio_store()->rendition());
    }
  }
  if (variants.empty()) return {};
  return "#EXTM3U\n#EXT-X-VERSION:6\n" + media + variants;
}

}  // namespace mirror::package::hls
