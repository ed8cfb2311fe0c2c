// Presentation: every LL-HLS rendition of one live stream under one name: the
// source's video and audio, and each transcoded rendition with the transcoded
// audio. It finds a rendition by its folder name, links all of them by
// EXT-X-RENDITION-REPORT, and writes the two multivariant playlists:
// - everything (index.m3u8): the source first when browsers decode it (H.264),
//   after the transcoded renditions when they mostly do not (HEVC);
// - transcoded only (multiview.m3u8): what a wall of small players may climb
//   to, never the full-rate source.
// Each feed of the stream (the source, each transcoded rendition) has its own
// StreamPackager; the transcoded ones share the audio of the first transcoded
// feed that carries audio.
//
// A relayed presentation (another node's stream, see relay/) has no
// packagers: its stores are filled from the origin's parts, and its
// multivariant playlists are the origin's own text.
//
// Threads: add() from the packaging thread, the relayed setters from the
// relay's threads; everything else from any thread.
// The presentation's mutex only guards its list of packagers and is never held
// while calling into a PartStore, so a store may ask it for reports while
// holding its own lock.
#pragma once

#include "package/hls/part_store.h"
#include "package/hls/stream_packager.h"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::package::hls {

enum class VariantRole { kSource, kTranscoded };

// Which variants a multivariant playlist lists.
enum class VariantScope { kAll, kTranscoded };

class Presentation {
 public:
  // `session`: the stream's recording session in the DVR (0: not recorded).
  explicit Presentation(std::string stream, std::int64_t session = 0);
  ~Presentation();
  Presentation(const Presentation&) = delete;
  Presentation& operator=(const Presentation&) = delete;

  const std::string& stream() const { return stream_; }
  std::int64_t recording_session() const { return session_; }

  // Adds a feed's packager; its renditions join the reports of all others.
  void add(std::shared_ptr<StreamPackager> packager, VariantRole role);

  // ---- any thread ----
  std::shared_ptr<StreamPackager> source() const;
  // Packagers with their roles, in the order they were added.
  struct Feed {
    std::shared_ptr<StreamPackager> packager;
    VariantRole role;
  };
  std::vector<Feed> feeds() const;
  // The store of a rendition folder ("source", "audio", "360p", ...), or null.
  std::shared_ptr<PartStore> store(std::string_view rendition) const;
  // The same with the packager that fills it; both null for an unknown name
  // or a track the feed does not have.
  struct Rendition {
    std::shared_ptr<StreamPackager> packager;
    std::shared_ptr<PartStore> store;
  };
  Rendition rendition(std::string_view name) const;
  // The source has ended (the transcoded feeds end with it), or the relay.
  bool ended() const;

  // ---- relays ----
  // Makes this a relayed presentation: pending() holds requests until the
  // renditions named by set_relayed_renditions() have stores.
  void start_relay();
  // The rendition folders the origin lists.
  void set_relayed_renditions(std::vector<std::string> names);
  // A rendition pulled from the origin (a folder of its presentation).
  void add_relayed(std::shared_ptr<PartStore> store);
  // The origin's multivariant playlist for `scope`, with or without audio.
  void set_relayed_multivariant(VariantScope scope, bool audio, std::string text);
  // The relay stopped: nothing more will come. `ended`: the origin ended
  // the stream (playlists get ENDLIST); otherwise the origin was lost and
  // waiting requests get 503, so that players ask again (a new relay, from
  // the node that holds the stream now, may answer them).
  void end_relayed(bool ended);
  bool relayed() const;
  std::vector<std::shared_ptr<PartStore>> relayed_stores() const;
  // Answers waiters whose deadline passed (the relay calls it periodically).
  void expire_relayed(PartStore::Clock::time_point now);

  // The store a multivariant request should wait for: a rendition in scope
  // that has media (or may still get some) but no complete segment yet. Null
  // when everything in scope is playable, or gone for good.
  std::shared_ptr<PartStore> pending(VariantScope scope) const;
  // The multivariant playlist of `scope`; empty while nothing in it is playable.
  // Without `audio` its variants name no audio group (the video alone: a
  // muted tile of a wall fetches and decodes no sound); a feed without video
  // stays an audio-only variant.
  std::string multivariant_playlist(VariantScope scope, bool audio = true) const;

 private:
  std::vector<RenditionReport> reports_for(const PartStore* self) const;

  const std::string stream_;
  const std::int64_t session_;
  mutable std::mutex mutex_;  // feeds_ and the relayed fields only; a leaf lock
  std::vector<Feed> feeds_;
  bool relayed_ = false;
  bool relay_ended_ = false;
  std::vector<std::shared_ptr<PartStore>> relayed_stores_;
  std::vector<std::string> relayed_names_;
  bool relayed_names_known_ = false;
  // What requests wait on while renditions are still missing: never
  // written, only timed out (when_ready asks again every 250 ms).
  std::shared_ptr<PartStore> relay_gate_;
  std::string relayed_multivariant_[2][2];  // [scope][audio]
};

}  // namespace mirror::package::hls
