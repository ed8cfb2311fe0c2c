#include "relay/dvr_forwarder.h"

#include "core/time_text.h"
#include "relay/origin_client.h"
#include "relay/origin_playlist.h"

#include <fmt/format.h>

namespace mirror::relay {
namespace {

using namespace std::chrono_literals;

// 24 h of 0.5 s segments listed with their tags: about 25 MB.
constexpr std::size_t kMaxDvrPlaylistBytes = 64 * 1024 * 1024;

}  // namespace

DvrForwarder::DvrForwarder(std::size_t max_queued) : max_queued_(max_queued) {}

DvrForwarder::~DvrForwarder() { stop(); }

void DvrForwarder::start() {
  std::lock_guard lock(mutex_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void DvrForwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(jobs_);
  }
  for (auto& job : left) job.reply(core::Error(core::ErrorCode::kServiceUnavailable, "the server is stopping"));
}

bool DvrForwarder::fetch(std::string base_url, std::string target, bool media, Reply reply) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back({std::move(base_url), std::move(target), media, std::move(reply)});
  }
  wake_.notify_one();
  return true;
}

void DvrForwarder::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto& client = clients_[job.base_url];
    if (!client) client = std::make_unique<OriginClient>(job.base_url);
    auto reply = client->get(job.target, 10s, kMaxDvrPlaylistBytes);
    if (!reply) {
      job.reply(reply.error());
      continue;
    }
    if (reply->status != 200) {
      const auto code = reply->status == 404   ? core::ErrorCode::kNotFound
                        : reply->status == 400 ? core::ErrorCode::kInvalidInput
                                               : core::ErrorCode::kServiceUnavailable;
      job.reply(core::Error(code, fmt::format("the node that records the stream answered {}", reply->status)));
      continue;
    }
    job.reply(job.media ? add_segment_times(reply->body) : core::Result<std::string>(std::move(reply->body)));
  }
}

core::Result<std::string> add_segment_times(std::string_view playlist) {
  if (playlist.size() > kMaxDvrPlaylistBytes) {
    return core::Error(core::ErrorCode::kInvalidInput, "DVR playlist too large");
  }
  std::string out;
  out.reserve(playlist.size() + playlist.size() / 8);
  std::int64_t at = -1;  // the time of the next segment; -1: none read yet
  while (!playlist.empty()) {
    const auto nl = playlist.find('\n');
    std::string_view line = playlist.substr(0, nl);
    playlist = nl == std::string_view::npos ? std::string_view() : playlist.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.append(line);
    if (line.starts_with("#EXT-X-PROGRAM-DATE-TIME:")) {
      const auto ms = core::parse_rfc3339_ms(line.substr(25));
      if (!ms || *ms < 0) return core::Error(core::ErrorCode::kInvalidInput, "DVR playlist: a time that does not read");
      at = *ms;
    } else if (!line.empty() && line.front() != '#') {
      if (at < 0) return core::Error(core::ErrorCode::kInvalidInput, "DVR playlist: a segment without its time");
      out += line.find('?') == std::string_view::npos ? "?at=" : "&at=";
      out += std::to_string(at);
      at = -1;
    }
    out += '\n';
  }
  return out;
}

}  // namespace mirror::relay
