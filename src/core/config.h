// Mirror's configuration: the Config value every room reads, loaded once at
// start-up from a YAML file (configs/mirror.yaml), overridden by MIRROR_*
// environment variables and validated as a whole so that every mistake is
// reported in one go. Loading happens on the main thread before anything
// starts; afterwards Config is a plain value, copied or shared read-only.
//
// YAML keys are the field names below, nested by section
// (server.admin_port, ingestion.srt.latency, storage.dvr.segment_length).
// The environment variable for a key is MIRROR_ + the dotted path in upper case
// with '.' replaced by '_' (MIRROR_SERVER_ADMIN_PORT, MIRROR_REDIS_PASSWORD).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::core {

struct Http2Config {
  // SETTINGS_MAX_CONCURRENT_STREAMS: requests one connection may have open
  // at once (a player holds a playlist and a part request per rendition).
  int max_concurrent_streams = 100;

  bool operator==(const Http2Config&) const = default;
};

// HTTP/3 on UDP server.http3_port. The seed's QUIC settings are the defaults.
struct QuicConfig {
  bool enabled = true;
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds{30};
  int max_bidi_streams = 1000;  // requests one connection may have open at once
  int max_uni_streams = 1000;
  std::string congestion_control = "cubic";  // or "bbr"
  // Address validation with a Retry round trip: "auto" (only while many
  // handshakes are in progress, a flood), "always" or "never".
  std::string retry = "auto";

  bool operator==(const QuicConfig&) const = default;
};

struct ServerConfig {
  int http3_port = 8443;  // QUIC (UDP) and HTTPS (TCP) share this number
  int http_port = 8000;
  int admin_port = 8080;
  // Address the admin API listens on. Anything but loopback needs a token.
  std::string admin_bind = "127.0.0.1";
  // When set, every /api/v1 request needs "Authorization: Bearer <token>".
  std::string admin_token;
  // Also require the token for /health, /ready and the metrics path.
  bool admin_auth_all = false;
  int max_connections = 10000;      // across every HTTP listener
  int max_connections_per_ip = 200;  // from one client address
  std::chrono::nanoseconds read_timeout = std::chrono::seconds{30};
  std::chrono::nanoseconds write_timeout = std::chrono::seconds{30};
  std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds{30};
  // Empty: generate a self-signed certificate in data_dir.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string data_dir = "/tmp/mirror";
  // How long a dashboard sign-in (the session cookie traded for the admin
  // token) lasts.
  std::chrono::nanoseconds session_ttl = std::chrono::hours{12};
  // When set, /streams/... on the delivery port needs ?token=, an HMAC of the
  // stream name and an expiry under this secret (minted by the admin API).
  std::string playback_secret;
  // Origins whose pages may read the delivery port (CORS); "*" is any.
  std::vector<std::string> cors_origins{"*"};
  Http2Config http2;
  QuicConfig quic;

  bool operator==(const ServerConfig&) const = default;
};

struct SrtConfig {
  bool enabled = true;
  int port = 6000;
  std::chrono::nanoseconds latency = std::chrono::milliseconds{120};
  std::int64_t max_bitrate = 60000000;  // bits per second
  std::int64_t buffer_size = 2097152;   // bytes
  std::string passphrase;               // empty: no encryption
  int pbkeylen = 16;                    // AES key length in bytes

  bool operator==(const SrtConfig&) const = default;
};

struct RtpConfig {
  bool enabled = true;
  int port = 5004;                     // RTCP uses port + 1
  std::int64_t buffer_size = 1048576;  // bytes
  std::chrono::nanoseconds jitter_buffer = std::chrono::milliseconds{50};
  // An MPEG-TS sender nobody declared (SDP or SSRC) becomes a stream only
  // when this is true, only from these networks, and only after a second of
  // valid media.
  bool allow_undeclared = true;
  std::vector<std::string> allowed_sources{"127.0.0.0/8",    "10.0.0.0/8", "172.16.0.0/12",
                                           "192.168.0.0/16", "::1/128",    "fc00::/7"};

  bool operator==(const RtpConfig&) const = default;
};

struct IngestionConfig {
  SrtConfig srt;
  RtpConfig rtp;
  int max_streams = 25;
  std::chrono::nanoseconds reconnect_delay = std::chrono::seconds{5};

  bool operator==(const IngestionConfig&) const = default;
};

// One transcoded video rendition (an entry of transcoding.renditions).
struct RenditionConfig {
  std::string name;  // its folder in playback URLs: 1-32 of A-Z a-z 0-9 _ -
  int width = 640;
  int height = 360;
  std::int64_t bitrate = 400000;  // video, bits per second
  int fps = 0;                    // frame-rate cap; 0: transcoding.output_fps

  bool operator==(const RenditionConfig&) const = default;
};

struct TranscodingConfig {
  bool enabled = true;  // false: streams pass through untranscoded
  bool use_gpu = true;
  std::vector<int> gpu_devices{0};
  int output_width = 640;
  int output_height = 360;
  std::int64_t output_bitrate = 400000;  // bits per second
  int output_fps = 30;                   // frame-rate cap; a slower source keeps its rate
  std::string profile = "baseline";      // H.264 profile: baseline, main or high
  std::int64_t audio_bitrate = 64000;    // bits per second
  int audio_sample_rate = 48000;         // AAC output; 0: the source's
  int worker_threads = 4;
  int max_queue_size = 100;
  // Empty: the single rendition the output_* keys describe.
  std::vector<RenditionConfig> renditions;

  bool operator==(const TranscodingConfig&) const = default;
};

// The renditions to produce: transcoding.renditions, or the one that
// output_width, output_height, output_bitrate and output_fps describe (named
// after its height, "360p"). A rendition's fps of 0 becomes output_fps.
std::vector<RenditionConfig> effective_renditions(const TranscodingConfig& config);

// Rendition folder names the playback URLs already use.
bool is_reserved_rendition_name(std::string_view name);

struct PackagingConfig {
  std::chrono::nanoseconds part_duration = std::chrono::milliseconds{100};
  int playlist_segments = 20;
  // A segment is cut without a keyframe after this long; also sets
  // EXT-X-TARGETDURATION. 0: four times storage.dvr.segment_length.
  std::chrono::nanoseconds max_segment_duration{0};
  // A decode-time jump beyond this (either way) is a discontinuity.
  std::chrono::nanoseconds discontinuity_threshold = std::chrono::seconds{1};

  bool operator==(const PackagingConfig&) const = default;
};

struct S3Config {
  bool enabled = false;
  std::string endpoint;  // empty: AWS S3
  std::string region = "us-east-1";
  std::string bucket = "mirror-streams";
  std::string access_key_id;
  std::string secret_access_key;
  bool use_ssl = true;

  bool operator==(const S3Config&) const = default;
};

struct LocalStorageConfig {
  std::string cache_dir = "/tmp/mirror-cache";
  std::int64_t max_cache_size = 10737418240;  // bytes (10 GiB)
  std::chrono::nanoseconds ttl = std::chrono::hours{1};

  bool operator==(const LocalStorageConfig&) const = default;
};

struct DvrConfig {
  bool enabled = true;
  std::chrono::nanoseconds retention_time = std::chrono::hours{24};
  std::chrono::nanoseconds segment_length = std::chrono::milliseconds{500};

  bool operator==(const DvrConfig&) const = default;
};

struct StorageConfig {
  S3Config s3;
  LocalStorageConfig local;
  DvrConfig dvr;

  bool operator==(const StorageConfig&) const = default;
};

struct RedisConfig {
  std::string addr;  // "host:port"; empty: in-process registry
  std::string password;
  int db = 0;
  int max_retries = 3;
  std::chrono::nanoseconds dial_timeout = std::chrono::seconds{5};
  std::chrono::nanoseconds read_timeout = std::chrono::seconds{3};
  std::chrono::nanoseconds write_timeout = std::chrono::seconds{3};
  int pool_size = 10;
  // Redis Sentinel: "host:port" of each sentinel and the monitored master's
  // name; when given, the master is found through them (addr is then unused).
  std::vector<std::string> sentinels;
  std::string master_name;

  bool operator==(const RedisConfig&) const = default;
};

// Several nodes sharing one Redis (redis.addr or redis.sentinels).
struct ClusterConfig {
  std::string node_id;        // empty: the hostname and server.http_port
  std::string advertise_url;  // base URL other nodes reach this node's delivery port at
  std::chrono::nanoseconds heartbeat = std::chrono::seconds{1};  // leases last three

  bool operator==(const ClusterConfig&) const = default;
};

struct MonitoringConfig {
  std::string metrics_path = "/metrics";
  std::string health_check_path = "/health";
  std::chrono::nanoseconds scrape_interval = std::chrono::seconds{10};

  bool operator==(const MonitoringConfig&) const = default;
};

struct Config {
  ServerConfig server;
  IngestionConfig ingestion;
  TranscodingConfig transcoding;
  PackagingConfig packaging;
  StorageConfig storage;
  RedisConfig redis;
  ClusterConfig cluster;
  MonitoringConfig monitoring;

  bool operator==(const Config&) const = default;
};

// Environment variables by name. Only MIRROR_* entries matter; others are ignored.
using Environment = std::map<std::string, std::string>;

// The process's MIRROR_* environment variables.
Environment process_environment();

struct LoadedConfig {
  Config config;
  std::vector<std::string> warnings;  // unknown keys and variables; loading went on
  std::vector<std::string> errors;    // the server must not start when non-empty
  bool used_defaults = false;         // the default file was missing
  std::string source;                 // the file read, or "built-in defaults"

  bool ok() const { return errors.empty(); }
};

// Reads `path`, applies `env` on top and validates the result. A missing
// explicit path is an error; a missing default path (path_is_explicit false)
// means built-in defaults. Never throws.
LoadedConfig load_config(const std::string& path, bool path_is_explicit, const Environment& env);

// The same from YAML text already in memory (tests, fuzzing). Never throws.
LoadedConfig load_config_from_string(std::string_view yaml_text, const Environment& env);

// A listening address as written in the configuration: an IPv4 or IPv6
// literal. Nothing for anything else (host names are not resolved).
struct BindAddress {
  bool ipv6 = false;
  bool loopback = false;  // 127.0.0.0/8 or ::1
};
std::optional<BindAddress> parse_bind_address(std::string_view text);

// A peer's address as written in the configuration: "host:port", where host
// is a name, an IPv4 literal or a bracketed IPv6 literal ("[::1]:6379").
struct HostPort {
  std::string host;  // without brackets
  int port = 0;
};
std::optional<HostPort> parse_host_port(std::string_view text);

// Every violated rule, each as "<key>: <bad value> <rule>". Empty when valid.
// Looks at the file system for cache_dir and data_dir but creates nothing.
std::vector<std::string> validate(const Config& config);

// The effective configuration as YAML that load_config_from_string reads back
// to an equal Config. With mask_secrets, non-empty secrets (SRT passphrase,
// S3 keys, Redis password) are written as "******". Strings are written as
// UTF-8; bytes that are not valid UTF-8 come out as U+FFFD.
std::string to_yaml(const Config& config, bool mask_secrets);

}  // namespace mirror::core
