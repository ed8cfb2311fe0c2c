#include "state/redis/cluster_records.h"

#include "core/names.h"

#include <cmath>

namespace mirror::state::redis {
namespace {

using Clock = std::chrono::system_clock;
using nlohmann::json;

constexpr std::size_t kMaxTokenBytes = 64;
constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxStreamsPerNode = 1000;
// Unix milliseconds from 1970 to 2255: a time point in nanoseconds holds them.
constexpr std::int64_t kMaxUnixMs = 9'000'000'000'000;

std::int64_t unix_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

core::Error fault(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

// Reads a checked field of an object into `out`; the first failure is kept.
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {}

  bool string(const char* key, std::string& out, std::size_t max, bool (*valid)(std::string_view) = nullptr) {
    const auto it = object_.find(key);
    if (it == object_.end() || !it->is_string()) return fail(std::string("\"") + key + "\" is not a string");
    const auto& text = it->get_ref<const std::string&>();
    if (text.size() > max) return fail(std::string("\"") + key + "\" is too long");
    if (valid != nullptr && !valid(text)) return fail(std::string("\"") + key + "\" is not valid");
    out = text;
    return true;
  }

  bool time(const char* key, Clock::time_point& out) {
    const auto it = object_.find(key);
    if (it == object_.end() || !it->is_number_integer()) return fail(std::string("\"") + key + "\" is not an integer");
    const auto ms = it->get<std::int64_t>();
    if (ms < 0 || ms > kMaxUnixMs) return fail(std::string("\"") + key + "\" is out of range");
    out = Clock::time_point(std::chrono::milliseconds(ms));
    return true;
  }

  bool number(const json& object, const char* key, double& out) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return fail(std::string("\"") + key + "\" is not a number");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > 1e15) return fail(std::string("\"") + key + "\" is out of range");
    out = v;
    return true;
  }

  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  const json& object_;
  std::string error_;
};

bool non_empty_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

bool is_protocol(std::string_view s) { return s == "srt" || s == "rtp"; }
bool is_status(std::string_view s) { return s == "connecting" || s == "live" || s == "reconnecting"; }
bool is_url(std::string_view s) { return s.empty() || s.starts_with("http://") || s.starts_with("https://"); }
bool printable(std::string_view s) { return non_empty_token(s) || s.empty(); }

core::Result<json> parse_object(std::string_view text) {
  if (text.size() > kMaxRecordBytes) return fault("larger than 64 KiB");
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return fault("not JSON");
  if (!doc.is_object()) return fault("not a JSON object");
  return doc;
}

json stream_json(const StreamRecord& r) {
  return {{"name", r.name},
          {"node", r.node},
          {"instance", r.instance},
          {"protocol", r.protocol},
          {"status", r.status},
          {"started_at_ms", unix_ms(r.started_at)},
          {"heartbeat_at_ms", unix_ms(r.heartbeat_at)}};
}

core::Result<StreamRecord> stream_from(const json& doc, std::string_view expected) {
  StreamRecord r;
  Fields f(doc);
  f.string("name", r.name, 64, core::is_valid_stream_name) && f.string("node", r.node, 128, core::is_valid_node_id) &&
      f.string("instance", r.instance, kMaxTokenBytes, non_empty_token) &&
      f.string("protocol", r.protocol, 8, is_protocol) && f.string("status", r.status, 16, is_status) &&
      f.time("started_at_ms", r.started_at) && f.time("heartbeat_at_ms", r.heartbeat_at);
  if (!f.error().empty()) return fault(f.error());
  if (!expected.empty() && r.name != expected) return fault("names another stream than its key");
  return r;
}

// ended and end events: who and which.
core::Result<StreamRecord> owner_from(const json& doc) {
  StreamRecord r;
  Fields f(doc);
  f.string("name", r.name, 64, core::is_valid_stream_name) && f.string("node", r.node, 128, core::is_valid_node_id) &&
      f.string("instance", r.instance, kMaxTokenBytes, non_empty_token);
  if (!f.error().empty()) return fault(f.error());
  return r;
}

}  // namespace

std::string KeySpace::node_of(std::string_view key) const {
  const std::string head = prefix + "node:";
  if (!key.starts_with(head)) return {};
  const auto id = key.substr(head.size());
  return core::is_valid_node_id(id) ? std::string(id) : std::string();
}

std::string KeySpace::stream_of(std::string_view key) const {
  const std::string head = prefix + "stream:";
  if (!key.starts_with(head)) return {};
  const auto name = key.substr(head.size());
  return core::is_valid_stream_name(name) ? std::string(name) : std::string();
}

std::string encode_stream(const StreamRecord& record) { return stream_json(record).dump(); }

std::string encode_node(const NodeRecord& r) {
  return json{{"id", r.id},
              {"instance", r.instance},
              {"url", r.url},
              {"version", r.version},
              {"streams", r.streams},
              {"load", {{"cpu_percent", r.load.cpu_percent}, {"egress_bps", r.load.egress_bps}, {"viewers", r.load.viewers}}},
              {"started_at_ms", unix_ms(r.started_at)},
              {"heartbeat_at_ms", unix_ms(r.heartbeat_at)}}
      .dump();
}

core::Result<StreamRecord> decode_stream(std::string_view text, std::string_view expected) {
  auto doc = parse_object(text);
  if (!doc) return doc.error();
  return stream_from(*doc, expected);
}

core::Result<NodeRecord> decode_node(std::string_view text, std::string_view expected) {
  auto doc = parse_object(text);
  if (!doc) return doc.error();
  NodeRecord r;
  Fields f(*doc);
  f.string("id", r.id, 128, core::is_valid_node_id) && f.string("instance", r.instance, kMaxTokenBytes, non_empty_token) &&
      f.string("url", r.url, kMaxUrlBytes, is_url) && f.string("version", r.version, kMaxTokenBytes, printable) &&
      f.time("started_at_ms", r.started_at) && f.time("heartbeat_at_ms", r.heartbeat_at);
  if (!f.error().empty()) return fault(f.error());
  const auto streams = doc->find("streams");
  if (streams == doc->end() || !streams->is_array()) return fault("\"streams\" is not an array");
  if (streams->size() > kMaxStreamsPerNode) return fault("\"streams\" has too many entries");
  for (const auto& s : *streams) {
    if (!s.is_string() || !core::is_valid_stream_name(s.get_ref<const std::string&>())) {
      return fault("\"streams\" holds something that is not a stream name");
    }
    r.streams.push_back(s.get<std::string>());
  }
  const auto load = doc->find("load");
  if (load == doc->end() || !load->is_object()) return fault("\"load\" is not an object");
  double viewers = 0;
  if (!f.number(*load, "cpu_percent", r.load.cpu_percent) || !f.number(*load, "egress_bps", r.load.egress_bps) ||
      !f.number(*load, "viewers", viewers)) {
    return fault(f.error());
  }
  r.load.viewers = static_cast<std::int64_t>(viewers);
  if (!expected.empty() && r.id != expected) return fault("names another node than its key");
  return r;
}

std::string encode_ended(const StreamRecord& r) {
  return json{{"event", "ended"}, {"name", r.name}, {"node", r.node}, {"instance", r.instance}}.dump();
}

std::string encode_end_request(const StreamRecord& owner) {
  return json{{"event", "end"}, {"name", owner.name}, {"node", owner.node}, {"instance", owner.instance}}.dump();
}

core::Result<ClusterEvent> decode_event(std::string_view text) {
  auto doc = parse_object(text);
  if (!doc) return doc.error();
  const auto event = doc->find("event");
  if (event == doc->end() || !event->is_string()) return fault("\"event\" is not a string");
  const auto& kind = event->get_ref<const std::string&>();
  ClusterEvent out;
  if (kind == "added" || kind == "changed") {
    out.kind = kind == "added" ? ClusterEvent::Kind::kAdded : ClusterEvent::Kind::kChanged;
    const auto stream = doc->find("stream");
    if (stream == doc->end() || !stream->is_object()) return fault("\"stream\" is not an object");
    auto record = stream_from(*stream, {});
    if (!record) return record.error();
    out.stream = std::move(*record);
    return out;
  }
  if (kind == "ended" || kind == "end") {
    out.kind = kind == "ended" ? ClusterEvent::Kind::kEnded : ClusterEvent::Kind::kEndRequest;
    auto record = owner_from(*doc);
    if (!record) return record.error();
    out.stream = std::move(*record);
    return out;
  }
  return fault("unknown event");
}

}  // namespace mirror::state::redis
