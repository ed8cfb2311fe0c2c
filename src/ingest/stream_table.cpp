#include "ingest/stream_table.h"

#include "core/logging.h"
#include "ingest/stream_id.h"

namespace mirror::ingest {

StreamTable::StreamTable(int max_streams, std::chrono::nanoseconds reconnect_delay,
                         state::StreamRegistry* registry, std::string node)
    : max_streams_(max_streams),
      reconnect_delay_(reconnect_delay),
      registry_(registry),
      node_(std::move(node)) {}

core::Status StreamTable::check(const std::string& name) const {
  if (!is_valid_stream_name(name)) {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "stream name must be 1-64 characters of A-Z a-z 0-9 _ -", {{"name", name}});
  }
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  if (it != streams_.end()) {
    if (it->second.stream->state() == StreamState::kReconnecting) return core::Ok{};
    return core::Error(core::ErrorCode::kAlreadyExists, "stream is already being published",
                       {{"name", name}});
  }
  if (static_cast<int>(streams_.size()) >= max_streams_) {
    return core::Error(core::ErrorCode::kCapacityFull, "ingestion.max_streams reached",
                       {{"max_streams", max_streams_}});
  }
  // Live on another node of the cluster (answered from memory).
  if (registry_ != nullptr) return registry_->check(name);
  return core::Ok{};
}

core::Result<std::shared_ptr<LiveStream>> StreamTable::admit(const std::string& name,
                                                             const std::string& protocol) {
  std::shared_ptr<LiveStream> stream;
  bool resumed = false;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(name);
    if (it != streams_.end()) {
      if (it->second.stream->state() != StreamState::kReconnecting ||
          it->second.stream->protocol() != protocol) {
        return core::Error(core::ErrorCode::kAlreadyExists, "stream is already being published",
                           {{"name", name}});
      }
      stream = it->second.stream;
      stream->mark_discontinuity();
      stream->set_state(StreamState::kConnecting);
      it->second.reported = StreamState::kConnecting;
      resumed = true;
    } else {
      if (!is_valid_stream_name(name)) {
        return core::Error(core::ErrorCode::kInvalidInput, "invalid stream name", {{"name", name}});
      }
      if (static_cast<int>(streams_.size()) >= max_streams_) {
        return core::Error(core::ErrorCode::kCapacityFull, "ingestion.max_streams reached",
                           {{"max_streams", max_streams_}});
      }
      // The claim refuses a name live on another node of the cluster.
      if (registry_ != nullptr) {
        state::StreamRecord record;
        record.name = name;
        record.node = node_;
        record.protocol = protocol;
        record.status = "connecting";
        if (auto st = registry_->claim(std::move(record)); !st) return st.error();
      }
      stream = std::make_shared<LiveStream>(name, protocol);
      streams_.emplace(name, Entry{stream, {}});
    }
  }
  if (registry_ != nullptr && resumed) (void)registry_->update(name, "connecting");
  core::log::info(resumed ? "stream resumed" : "stream added",
                  {{"stream", name}, {"protocol", protocol}});
  if (!resumed) {
    for (const auto& cb : added_callbacks_) cb(stream);
  }
  return stream;
}

void StreamTable::publisher_left(const std::shared_ptr<LiveStream>& stream) {
  std::vector<std::shared_ptr<LiveStream>> ended;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(stream->name());
    if (it == streams_.end() || it->second.stream != stream) return;
    stream->clear_publisher();
    if (stream->state() == StreamState::kEnded) return;
    if (reconnect_delay_.count() <= 0) {
      end_locked(it, ended);
    } else {
      stream->set_state(StreamState::kReconnecting);
      it->second.reconnect_deadline = Clock::now() + reconnect_delay_;
    }
  }
  if (registry_ != nullptr && ended.empty()) {
    {
      std::lock_guard lock(mutex_);
      auto it = streams_.find(stream->name());
      if (it != streams_.end()) it->second.reported = StreamState::kReconnecting;
    }
    (void)registry_->update(stream->name(), "reconnecting");
  }
  core::log::info("publisher left", {{"stream", stream->name()},
                                     {"state", stream_state_name(stream->state())}});
  notify_ended(ended);
}

core::Status StreamTable::end_stream(const std::string& name) {
  std::shared_ptr<LiveStream> stream;
  std::vector<std::shared_ptr<LiveStream>> ended;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(name);
    if (it == streams_.end()) {
      return core::Error(core::ErrorCode::kNotFound, "no such stream", {{"name", name}});
    }
    stream = it->second.stream;
    end_locked(it, ended);
  }
  // Outside the lock: the transport's hang-up may call back into the table.
  stream->disconnect_publisher();
  notify_ended(ended);
  return core::Ok{};
}

void StreamTable::expire(Clock::time_point now) {
  std::vector<std::shared_ptr<LiveStream>> ended;
  std::vector<std::pair<std::string, StreamState>> changed;
  {
    std::lock_guard lock(mutex_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      auto next = std::next(it);
      const StreamState state = it->second.stream->state();
      if (state == StreamState::kReconnecting && now >= it->second.reconnect_deadline) {
        end_locked(it, ended);
      } else if (state != it->second.reported) {
        it->second.reported = state;
        changed.emplace_back(it->first, state);
      }
      it = next;
    }
  }
  if (registry_ != nullptr) {
    for (const auto& [name, state] : changed) (void)registry_->update(name, std::string(stream_state_name(state)));
  }
  notify_ended(ended);
}

void StreamTable::end_all() {
  std::vector<std::shared_ptr<LiveStream>> ended;
  {
    std::lock_guard lock(mutex_);
    while (!streams_.empty()) end_locked(streams_.begin(), ended);
  }
  for (const auto& s : ended) s->disconnect_publisher();
  notify_ended(ended);
}

void StreamTable::end_locked(std::map<std::string, Entry>::iterator it,
                             std::vector<std::shared_ptr<LiveStream>>& ended) {
  auto stream = it->second.stream;
  stream->set_state(StreamState::kEnded);
  stream->hub().end();
  streams_.erase(it);
  ended.push_back(std::move(stream));
}

void StreamTable::notify_ended(const std::vector<std::shared_ptr<LiveStream>>& ended) {
  for (const auto& s : ended) {
    if (registry_ != nullptr) (void)registry_->release(s->name());
    core::log::info("stream ended", {{"stream", s->name()}});
    for (const auto& cb : ended_callbacks_) cb(s);
  }
}

std::shared_ptr<LiveStream> StreamTable::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second.stream;
}

std::vector<std::shared_ptr<LiveStream>> StreamTable::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<LiveStream>> out;
  for (const auto& [_, e] : streams_) out.push_back(e.stream);
  return out;
}

std::size_t StreamTable::size() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

void StreamTable::on_stream_added(std::function<void(const std::shared_ptr<LiveStream>&)> cb) {
  added_callbacks_.push_back(std::move(cb));
}

void StreamTable::on_stream_ended(std::function<void(const std::shared_ptr<LiveStream>&)> cb) {
  ended_callbacks_.push_back(std::move(cb));
}

}  // namespace mirror::ingest
