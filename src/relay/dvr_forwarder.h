// The DVR of another node's stream, from this node: its playlists come from
// the node that records it (the index is there), fetched on this room's own
// thread, and every segment URI of a media playlist is given its time
// ("at=UNIX_MS", its PROGRAM-DATE-TIME), so that this node reads the
// segment itself: from the stream's relayed live window while it is there,
// else from S3 by the key that time gives. Media never comes from the
// origin node.
//
// Threads: fetch() from any thread (an event loop: it only queues); the
// forwarder's thread does the HTTP and calls the replies.
#pragma once

#include "core/errors.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mirror::relay {

class OriginClient;

class DvrForwarder {
 public:
  using Reply = std::function<void(core::Result<std::string> playlist)>;

  explicit DvrForwarder(std::size_t max_queued = 64);
  ~DvrForwarder();
  DvrForwarder(const DvrForwarder&) = delete;
  DvrForwarder& operator=(const DvrForwarder&) = delete;

  void start();
  void stop();
  // GET base_url + target (a DVR path with its query); a media playlist
  // (`media`) comes back with its segments' times. False when the queue is
  // full. An answer other than 200 is an error with the origin's status.
  bool fetch(std::string base_url, std::string target, bool media, Reply reply);

 private:
  struct Job {
    std::string base_url;
    std::string target;
    bool media = false;
    Reply reply;
  };
  void run();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
  std::map<std::string, std::unique_ptr<OriginClient>> clients_;  // the thread's, by origin
};

// Adds "at=UNIX_MS" to the URI of every segment of a DVR media playlist (the
// time of the EXT-X-PROGRAM-DATE-TIME before it). INVALID_INPUT for a
// segment without a time, a time that does not read, or too large a text.
core::Result<std::string> add_segment_times(std::string_view playlist);

}  // namespace mirror::relay
