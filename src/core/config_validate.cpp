// validate(): every rule a Config must satisfy before the server starts. All
// rules run every time so that one start attempt shows every mistake. Each
// message reads "<key>: <bad value> <rule>".
#include "core/config.h"
#include "core/ip_network.h"
#include "core/names.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>

#include "core/config.h"
#include "core/config_schema.h"
#include "core/units.h"

namespace mirror::core {
namespace {

namespace fs = std::filesystem;
using std::chrono::nanoseconds;

constexpr int kMaxPort = 65535;
// libsrt refuses other passphrase lengths (SRTO_PASSPHRASE).
constexpr std::size_t kMinPassphrase = 10;
constexpr std::size_t kMaxPassphrase = 79;

class Violations {
 public:
  void add(std::string_view key, std::string_view value, std::string_view rule) {
    messages_.push_back(fmt::format("{}: {} {}", key, value, rule));
  }

  // Integer-like values with an inclusive range.
  template <class T>
  void check_range(std::string_view key, T value, T low, T high) {
    if (value < low || value > high) {
      add(key, std::to_string(value), fmt::format("must be between {} and {}", low, high));
    }
  }

  template <class T>
  void check_at_least(std::string_view key, T value, T low) {
    if (value < low) add(key, std::to_string(value), fmt::format("must be at least {}", low));
  }

  void check_port(std::string_view key, int port) {
    if (port < 1 || port > kMaxPort) {
      add(key, std::to_string(port), "is not a valid port (1-65535)");
    }
  }

  void check_not_empty(std::string_view key, const std::string& value, std::string_view when) {
    if (value.empty()) add(key, "\"\"", fmt::format("must not be empty when {}", when));
  }

  std::vector<std::string> take() { return std::move(messages_); }

 private:
  std::vector<std::string> messages_;
};

std::string quote(std::string_view text) {
  return config_schema::quote_value(text, false);
}

// One socket Mirror listens on. The same key can own two (RTP and RTCP).
struct Listener {
  std::string_view key;
  int value;              // the configured value, as written in the key
  int port;               // the port actually bound
  std::string_view note;  // how `port` follows from `value`, if it differs
};

// Two listeners of one protocol cannot share a port; the later one in the list
// is named as the culprit.
void check_conflicts(std::string_view protocol, const std::vector<Listener>& listeners,
                     Violations& violations) {
  for (std::size_t later = 0; later < listeners.size(); ++later) {
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const Listener& a = listeners[earlier];
      const Listener& b = listeners[later];
      if (a.port != b.port || a.port < 1 || a.port > kMaxPort) continue;
      violations.add(b.key, fmt::format("{}{}", b.value, b.note),
                     fmt::format("conflicts with {} on {} port {}", a.key, protocol, a.port));
    }
  }
}

void check_ports(const Config& c, Violations& v) {
  v.check_port("server.http3_port", c.server.http3_port);
  v.check_port("server.http_port", c.server.http_port);
  v.check_port("server.admin_port", c.server.admin_port);
  v.check_port("ingestion.srt.port", c.ingestion.srt.port);
  v.check_port("ingestion.rtp.port", c.ingestion.rtp.port);

  // HTTPS over TCP shares the HTTP/3 port number, as browsers expect.
  check_conflicts("TCP",
                  {{"server.http3_port", c.server.http3_port, c.server.http3_port, ""},
                   {"server.http_port", c.server.http_port, c.server.http_port, ""},
                   {"server.admin_port", c.server.admin_port, c.server.admin_port, ""}},
                  v);

  std::vector<Listener> udp;
  if (c.server.quic.enabled) udp.push_back({"server.http3_port", c.server.http3_port, c.server.http3_port, ""});
  if (c.ingestion.srt.enabled) {
    udp.push_back({"ingestion.srt.port", c.ingestion.srt.port, c.ingestion.srt.port, ""});
  }
  if (c.ingestion.rtp.enabled) {
    const int rtp = c.ingestion.rtp.port;
    udp.push_back({"ingestion.rtp.port", rtp, rtp, ""});
    if (rtp == kMaxPort) {
      v.add("ingestion.rtp.port", std::to_string(rtp),
            "leaves no port for RTCP (port + 1 must be at most 65535)");
    } else {
      udp.push_back({"ingestion.rtp.port", rtp, rtp + 1, " (RTCP on port + 1)"});
    }
  }
  check_conflicts("UDP", udp, v);
}

void check_durations(const Config& c, Violations& v) {
  for (const config_schema::ConfigKey& key : config_schema::keys()) {
    if (key.kind != config_schema::ValueKind::kDuration) continue;
    const nanoseconds value = *std::get<const nanoseconds*>(key.const_field(c));
    // 0 means "derived from another key" for this one.
    if (key.path == std::string_view("packaging.max_segment_duration") && value == nanoseconds::zero()) {
      continue;
    }
    if (value <= nanoseconds::zero()) {
      v.add(key.path, format_duration(value), "must be greater than 0");
    }
  }
  if (c.packaging.part_duration >= c.storage.dvr.segment_length &&
      c.packaging.part_duration > nanoseconds::zero()) {
    v.add("packaging.part_duration", format_duration(c.packaging.part_duration),
          fmt::format("must be shorter than storage.dvr.segment_length ({})",
                      format_duration(c.storage.dvr.segment_length)));
  }
  if (c.packaging.max_segment_duration > nanoseconds::zero() &&
      c.packaging.max_segment_duration < c.storage.dvr.segment_length) {
    v.add("packaging.max_segment_duration", format_duration(c.packaging.max_segment_duration),
          fmt::format("must be at least storage.dvr.segment_length ({}), or 0 for four times it",
                      format_duration(c.storage.dvr.segment_length)));
  }
  if (c.ingestion.srt.latency > std::chrono::seconds{10}) {
    v.add("ingestion.srt.latency", format_duration(c.ingestion.srt.latency),
          "exceeds the maximum of 10s");
  }
}

void check_ingestion(const Config& c, Violations& v) {
  for (std::size_t i = 0; i < c.ingestion.rtp.allowed_sources.size(); ++i) {
    const std::string& cidr = c.ingestion.rtp.allowed_sources[i];
    if (!IpNetwork::parse(cidr)) {
      v.add(fmt::format("ingestion.rtp.allowed_sources[{}]", i), fmt::format("\"{}\"", cidr),
            "is not an address or network (10.0.0.0/8, fc00::/7, 192.0.2.7)");
    }
  }
  const SrtConfig& srt = c.ingestion.srt;
  const RtpConfig& rtp = c.ingestion.rtp;
  constexpr std::int64_t kMinBuffer = std::int64_t{64} * 1024;
  constexpr std::int64_t kMaxBuffer = std::int64_t{256} * 1024 * 1024;

  v.check_range("ingestion.max_streams", c.ingestion.max_streams, 1, 1000);
  if (srt.max_bitrate < 100000 || srt.max_bitrate > 1000000000) {
    v.add("ingestion.srt.max_bitrate", std::to_string(srt.max_bitrate),
          "must be between 100000 (100k) and 1000000000 (1G) bits per second");
  }
  for (const auto& [key, size] : {std::pair{"ingestion.srt.buffer_size", srt.buffer_size},
                                  std::pair{"ingestion.rtp.buffer_size", rtp.buffer_size}}) {
    if (size < kMinBuffer || size > kMaxBuffer) {
      v.add(key, std::to_string(size),
            "must be between 65536 (64KiB) and 268435456 (256MiB) bytes");
    }
  }
  const std::size_t length = srt.passphrase.size();
  if (length != 0 && (length < kMinPassphrase || length > kMaxPassphrase)) {
    // The secret itself never appears in a message, only its length.
    v.add("ingestion.srt.passphrase", fmt::format("****** ({} characters)", length),
          "must be empty or 10-79 characters long");
  }
  if (srt.pbkeylen != 16 && srt.pbkeylen != 24 && srt.pbkeylen != 32) {
    v.add("ingestion.srt.pbkeylen", std::to_string(srt.pbkeylen), "must be 16, 24 or 32");
  }
}

void check_even_dimension(std::string_view key, int value, int high, Violations& v) {
  if (value < 16 || value > high || value % 2 != 0) {
    v.add(key, std::to_string(value),
          fmt::format("must be an even number between 16 and {}", high));
  }
}

bool is_aac_sample_rate(int rate) {
  for (int r : {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}) {
    if (r == rate) return true;
  }
  return false;
}

void check_transcoding(const Config& c, Violations& v) {
  const TranscodingConfig& t = c.transcoding;
  check_even_dimension("transcoding.output_width", t.output_width, 7680, v);
  check_even_dimension("transcoding.output_height", t.output_height, 4320, v);
  v.check_range<std::int64_t>("transcoding.output_bitrate", t.output_bitrate, 100000, 50000000);
  v.check_range<std::int64_t>("transcoding.audio_bitrate", t.audio_bitrate, 8000, 512000);
  v.check_range("transcoding.output_fps", t.output_fps, 1, 120);
  if (t.profile != "baseline" && t.profile != "main" && t.profile != "high") {
    v.add("transcoding.profile", fmt::format("\"{}\"", t.profile), "must be baseline, main or high");
  }
  if (t.audio_sample_rate != 0 && !is_aac_sample_rate(t.audio_sample_rate)) {
    v.add("transcoding.audio_sample_rate", std::to_string(t.audio_sample_rate),
          "must be 0 (the source's) or an AAC sample rate: 8000, 11025, 12000, 16000, 22050, "
          "24000, 32000, 44100, 48000, 64000, 88200 or 96000");
  }
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < t.renditions.size(); ++i) {
    const RenditionConfig& r = t.renditions[i];
    const std::string key = fmt::format("transcoding.renditions[{}]", i);
    const bool name_ok = !r.name.empty() && r.name.size() <= 32 &&
                         std::all_of(r.name.begin(), r.name.end(), [](char ch) {
                           return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' ||
                                  ch == '-';
                         });
    if (!name_ok) {
      v.add(key + ".name", fmt::format("\"{}\"", r.name.substr(0, 40)),
            "must be 1-32 characters of A-Z a-z 0-9 _ -");
    } else if (is_reserved_rendition_name(r.name)) {
      v.add(key + ".name", fmt::format("\"{}\"", r.name),
            "is taken by the source's renditions and the DVR (source, audio, transcoded-audio, dvr)");
    } else if (!names.insert(r.name).second) {
      v.add(key + ".name", fmt::format("\"{}\"", r.name), "is used by an earlier rendition");
    }
    check_even_dimension(key + ".width", r.width, 7680, v);
    check_even_dimension(key + ".height", r.height, 4320, v);
    v.check_range<std::int64_t>(key + ".bitrate", r.bitrate, 100000, 50000000);
    if (r.fps != 0) v.check_range(key + ".fps", r.fps, 1, 120);
  }
  v.check_range("transcoding.worker_threads", t.worker_threads, 1, 256);
  v.check_at_least("transcoding.max_queue_size", t.max_queue_size, 1);
  for (std::size_t i = 0; i < t.gpu_devices.size(); ++i) {
    if (t.gpu_devices[i] < 0) {
      v.add(fmt::format("transcoding.gpu_devices[{}]", i), std::to_string(t.gpu_devices[i]),
            "is not a valid GPU index (must be 0 or more)");
    }
  }
}

bool is_writable_directory(const fs::path& path) {
  // Creating an entry needs both write and search permission on the directory.
  return ::access(path.c_str(), W_OK | X_OK) == 0;
}

// Why `text` cannot serve as a directory Mirror creates and writes into, or
// nullopt when it can. Looks only; never creates anything.
std::optional<std::string> directory_problem(const std::string& text) {
  if (text.empty()) return "must not be empty";
  fs::path path = fs::path(text).lexically_normal();
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path()) {
    path = path.parent_path();  // "/tmp/x/" names the directory "/tmp/x"
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() != fs::file_type::not_found) {
    if (ec) return fmt::format("cannot be checked: {}", ec.message());
    if (!fs::is_directory(status)) return "exists but is not a directory";
    if (!is_writable_directory(path)) {
      return fmt::format("is not writable: {}", std::strerror(errno));
    }
    return std::nullopt;
  }
  // Missing: it will be created, so its nearest existing ancestor must allow that.
  fs::path ancestor = path;
  while (true) {
    fs::path parent = ancestor.parent_path();
    if (parent.empty()) parent = ".";
    if (parent == ancestor) return "cannot be created: no existing parent directory";
    ancestor = parent;
    const fs::file_status parent_status = fs::status(ancestor, ec);
    if (parent_status.type() == fs::file_type::not_found) continue;
    if (ec) return fmt::format("cannot be created: {}: {}", ancestor.string(), ec.message());
    if (!fs::is_directory(parent_status)) {
      return fmt::format("cannot be created: {} is not a directory", ancestor.string());
    }
    if (!is_writable_directory(ancestor)) {
      return fmt::format("cannot be created: {} is not writable: {}", ancestor.string(),
                         std::strerror(errno));
    }
    return std::nullopt;
  }
}

void check_directory(std::string_view key, const std::string& value, Violations& v) {
  if (auto problem = directory_problem(value)) v.add(key, quote(value), *problem);
}

// "*" alone, or origins as browsers send them: scheme://host[:port], no path.
void check_cors_origins(const std::vector<std::string>& origins, Violations& v) {
  if (origins.empty()) {
    v.add("server.cors_origins", "[]", "must name at least one origin, or \"*\" for any");
    return;
  }
  if (origins.size() > 64) v.add("server.cors_origins", std::to_string(origins.size()) + " entries", "must be at most 64");
  for (std::size_t i = 0; i < origins.size(); ++i) {
    const std::string& o = origins[i];
    const auto key = fmt::format("server.cors_origins[{}]", i);
    if (o == "*") {
      if (origins.size() > 1) v.add(key, quote(o), "must be the only entry when it is given");
      continue;
    }
    std::string_view rest = o;
    bool scheme = false;
    for (std::string_view prefix : {"http://", "https://"}) {
      if (rest.starts_with(prefix)) {
        rest.remove_prefix(prefix.size());
        scheme = true;
        break;
      }
    }
    const bool host_ok = !rest.empty() && rest.size() <= 253 &&
                         std::all_of(rest.begin(), rest.end(), [](char ch) {
                           return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                                  ch == ':' || ch == '[' || ch == ']';
                         });
    if (!scheme || !host_ok) {
      v.add(key, quote(o), "must be \"*\" or an origin such as https://wall.example.com:8443 (no path)");
    }
  }
}

void check_server(const Config& c, Violations& v) {
  v.check_at_least("server.max_connections", c.server.max_connections, 1);
  v.check_at_least("server.max_connections_per_ip", c.server.max_connections_per_ip, 1);
  v.check_range("server.http2.max_concurrent_streams", c.server.http2.max_concurrent_streams, 1, 10000);
  v.check_range("server.quic.max_bidi_streams", c.server.quic.max_bidi_streams, 1, 100000);
  v.check_range("server.quic.max_uni_streams", c.server.quic.max_uni_streams, 3, 100000);
  if (c.server.quic.congestion_control != "cubic" && c.server.quic.congestion_control != "bbr") {
    v.add("server.quic.congestion_control", quote(c.server.quic.congestion_control), "must be \"cubic\" or \"bbr\"");
  }
  const std::string& retry = c.server.quic.retry;
  if (retry != "auto" && retry != "always" && retry != "never") {
    v.add("server.quic.retry", quote(retry), "must be \"auto\", \"always\" or \"never\"");
  }
  const auto bind = parse_bind_address(c.server.admin_bind);
  if (!bind) {
    v.add("server.admin_bind", fmt::format("\"{}\"", c.server.admin_bind),
          "must be an IPv4 or IPv6 address (127.0.0.1, 0.0.0.0, ::1)");
  } else if (!bind->loopback && c.server.admin_token.empty()) {
    v.add("server.admin_bind", c.server.admin_bind,
          "needs server.admin_token (MIRROR_SERVER_ADMIN_TOKEN): without it the admin API would "
          "let anyone who reaches this address end streams and bind ports");
  }
  check_directory("server.data_dir", c.server.data_dir, v);
  if (c.server.session_ttl < std::chrono::minutes{1} || c.server.session_ttl > std::chrono::hours{24 * 30}) {
    v.add("server.session_ttl", format_duration(c.server.session_ttl), "must be between 1m and 720h");
  }
  if (const std::size_t length = c.server.playback_secret.size(); length != 0 && (length < 16 || length > 256)) {
    // The secret itself never appears in a message, only its length.
    v.add("server.playback_secret", fmt::format("****** ({} characters)", length),
          "must be empty or 16-256 characters long");
  }
  check_cors_origins(c.server.cors_origins, v);
  // One without the other would silently fall back to a self-signed certificate.
  if (c.server.tls_cert_file.empty() != c.server.tls_key_file.empty()) {
    if (c.server.tls_key_file.empty()) {
      v.add("server.tls_key_file", "\"\"", "must be set when server.tls_cert_file is set");
    } else {
      v.add("server.tls_cert_file", "\"\"", "must be set when server.tls_key_file is set");
    }
  }
}

void check_storage(const Config& c, Violations& v) {
  const S3Config& s3 = c.storage.s3;
  if (s3.enabled) {
    constexpr std::string_view kWhen = "storage.s3.enabled is true";
    v.check_not_empty("storage.s3.bucket", s3.bucket, kWhen);
    v.check_not_empty("storage.s3.region", s3.region, kWhen);
    v.check_not_empty("storage.s3.access_key_id", s3.access_key_id, kWhen);
    v.check_not_empty("storage.s3.secret_access_key", s3.secret_access_key, kWhen);
  }
  if (c.storage.local.max_cache_size <= 0) {
    v.add("storage.local.max_cache_size", std::to_string(c.storage.local.max_cache_size),
          "must be greater than 0");
  }
  check_directory("storage.local.cache_dir", c.storage.local.cache_dir, v);
  // Shorter than this, segments would expire before a player reached them.
  if (c.storage.dvr.enabled && c.storage.dvr.retention_time > nanoseconds::zero() &&
      c.storage.dvr.retention_time < std::chrono::seconds{10}) {
    v.add("storage.dvr.retention_time", format_duration(c.storage.dvr.retention_time), "must be at least 10s");
  }
}

void check_redis_and_cluster(const Config& c, Violations& v) {
  const RedisConfig& r = c.redis;
  v.check_range("redis.db", r.db, 0, 15);
  v.check_at_least("redis.pool_size", r.pool_size, 1);
  v.check_range("redis.max_retries", r.max_retries, 0, 100);
  if (!r.addr.empty() && !parse_host_port(r.addr)) {
    v.add("redis.addr", quote(r.addr), "must be host:port");
  }
  for (const auto& s : r.sentinels) {
    if (!parse_host_port(s)) v.add("redis.sentinels", quote(s), "must be host:port");
  }
  if (!r.sentinels.empty()) v.check_not_empty("redis.master_name", r.master_name, "redis.sentinels is set");
  if (!r.master_name.empty() && r.sentinels.empty()) {
    v.add("redis.master_name", quote(r.master_name), "needs redis.sentinels");
  }
  if (!r.addr.empty() || !r.sentinels.empty()) {
    // One connection for commands and one subscribed to events.
    v.check_at_least("redis.pool_size", r.pool_size, 2);
  }
  const ClusterConfig& cl = c.cluster;
  if (!cl.node_id.empty() && !is_valid_node_id(cl.node_id)) {
    v.add("cluster.node_id", quote(cl.node_id), "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  }
  if (!cl.advertise_url.empty() && !cl.advertise_url.starts_with("http://") &&
      !cl.advertise_url.starts_with("https://")) {
    v.add("cluster.advertise_url", quote(cl.advertise_url), "must start with http:// or https://");
  }
  if (cl.heartbeat < std::chrono::milliseconds{100} || cl.heartbeat > std::chrono::seconds{60}) {
    v.add("cluster.heartbeat", format_duration(cl.heartbeat), "must be between 100ms and 1m");
  }
}

void check_monitoring(const Config& c, Violations& v) {

  const MonitoringConfig& m = c.monitoring;
  for (const auto& [key, path] :
       {std::pair{"monitoring.metrics_path", &m.metrics_path},
        std::pair{"monitoring.health_check_path", &m.health_check_path}}) {
    if (!path->starts_with('/')) v.add(key, quote(*path), "must start with '/'");
  }
  if (m.metrics_path == m.health_check_path) {
    v.add("monitoring.health_check_path", quote(m.health_check_path),
          "must differ from monitoring.metrics_path");
  }
}

}  // namespace

std::optional<BindAddress> parse_bind_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);
  BindAddress out;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    out.loopback = (ntohl(v4.s_addr) >> 24) == 127;
    return out;
  }
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    out.ipv6 = true;
    out.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    return out;
  }
  return std::nullopt;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  if (text.empty() || text.size() > 300) return std::nullopt;
  HostPort out;
  std::string_view port_text;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    in6_addr v6{};
    if (inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) return std::nullopt;
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    for (char ch : out.host) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') return std::nullopt;
    }
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  int port = 0;
  for (char ch : port_text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + (ch - '0');
  }
  if (port < 1 || port > kMaxPort) return std::nullopt;
  out.port = port;
  return out;
}

std::vector<std::string> validate(const Config& config) {
  Violations violations;
  try {
    check_server(config, violations);
    check_ports(config, violations);
    check_durations(config, violations);
    check_ingestion(config, violations);
    check_transcoding(config, violations);
    violations.check_at_least("packaging.playlist_segments", config.packaging.playlist_segments, 3);
    check_storage(config, violations);
    check_redis_and_cluster(config, violations);
    check_monitoring(config, violations);
  } catch (const std::exception& e) {
    // Only allocation failures can land here.
    violations.add("config", "", fmt::format("could not be validated: {}", e.what()));
  }
  return violations.take();
}

}  // namespace mirror::core
