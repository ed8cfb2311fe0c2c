#include "core/config_schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <type_traits>

#include "core/units.h"

namespace mirror::core::config_schema {
namespace {

// The C++ field type each kind must point at; checked at compile time below so
// a descriptor cannot parse a duration into an int.
template <ValueKind K>
struct FieldType;
template <>
struct FieldType<ValueKind::kBool> {
  using type = bool;
};
template <>
struct FieldType<ValueKind::kInt> {
  using type = int;
};
template <>
struct FieldType<ValueKind::kSize> {
  using type = std::int64_t;
};
template <>
struct FieldType<ValueKind::kBitrate> {
  using type = std::int64_t;
};
template <>
struct FieldType<ValueKind::kDuration> {
  using type = std::chrono::nanoseconds;
};
template <>
struct FieldType<ValueKind::kString> {
  using type = std::string;
};
template <>
struct FieldType<ValueKind::kIntList> {
  using type = std::vector<int>;
};
template <>
struct FieldType<ValueKind::kStringList> {
  using type = std::vector<std::string>;
};
template <>
struct FieldType<ValueKind::kRenditionList> {
  using type = std::vector<RenditionConfig>;
};

template <ValueKind K, class Get, class ConstGet>
constexpr ConfigKey make_key(std::string_view path, bool secret, Get, ConstGet) {
  static_assert(std::is_same_v<std::invoke_result_t<Get, Config&>, typename FieldType<K>::type*>,
                "the key's kind does not match its field's type");
  // Captureless lambdas are default-constructible, so the accessors can be
  // wrapped into plain function pointers returning the variant.
  return ConfigKey{path, K, secret, [](Config& c) -> FieldRef { return Get{}(c); },
                   [](const Config& c) -> ConstFieldRef { return ConstGet{}(c); }};
}

// The key's dotted path is the member expression itself, stringized: the YAML
// key, the environment variable and the C++ field cannot drift apart.
// clang-format off
#define MIRROR_CONFIG_KEY_IMPL(KIND, MEMBER, SECRET)                                  \
  make_key<ValueKind::KIND>(#MEMBER, SECRET, [](Config& c) { return &c.MEMBER; },     \
                            [](const Config& c) { return &c.MEMBER; })
// clang-format on
#define MIRROR_CONFIG_KEY(KIND, MEMBER) MIRROR_CONFIG_KEY_IMPL(KIND, MEMBER, false)
#define MIRROR_SECRET_KEY(MEMBER) MIRROR_CONFIG_KEY_IMPL(kString, MEMBER, true)

constexpr std::array kKeys{
    MIRROR_CONFIG_KEY(kInt, server.http3_port),
    MIRROR_CONFIG_KEY(kInt, server.http_port),
    MIRROR_CONFIG_KEY(kInt, server.admin_port),
    MIRROR_CONFIG_KEY(kString, server.admin_bind),
    MIRROR_SECRET_KEY(server.admin_token),
    MIRROR_CONFIG_KEY(kBool, server.admin_auth_all),
    MIRROR_CONFIG_KEY(kInt, server.max_connections),
    MIRROR_CONFIG_KEY(kInt, server.max_connections_per_ip),
    MIRROR_CONFIG_KEY(kDuration, server.read_timeout),
    MIRROR_CONFIG_KEY(kDuration, server.write_timeout),
    MIRROR_CONFIG_KEY(kDuration, server.shutdown_timeout),
    MIRROR_CONFIG_KEY(kString, server.tls_cert_file),
    MIRROR_CONFIG_KEY(kString, server.tls_key_file),
    MIRROR_CONFIG_KEY(kString, server.data_dir),
    MIRROR_CONFIG_KEY(kDuration, server.session_ttl),
    MIRROR_SECRET_KEY(server.playback_secret),
    MIRROR_CONFIG_KEY(kStringList, server.cors_origins),
    MIRROR_CONFIG_KEY(kInt, server.http2.max_concurrent_streams),
    MIRROR_CONFIG_KEY(kBool, server.quic.enabled),
    MIRROR_CONFIG_KEY(kDuration, server.quic.idle_timeout),
    MIRROR_CONFIG_KEY(kInt, server.quic.max_bidi_streams),
    MIRROR_CONFIG_KEY(kInt, server.quic.max_uni_streams),
    MIRROR_CONFIG_KEY(kString, server.quic.congestion_control),
    MIRROR_CONFIG_KEY(kString, server.quic.retry),

    MIRROR_CONFIG_KEY(kBool, ingestion.srt.enabled),
    MIRROR_CONFIG_KEY(kInt, ingestion.srt.port),
    MIRROR_CONFIG_KEY(kDuration, ingestion.srt.latency),
    MIRROR_CONFIG_KEY(kBitrate, ingestion.srt.max_bitrate),
    MIRROR_CONFIG_KEY(kSize, ingestion.srt.buffer_size),
    MIRROR_SECRET_KEY(ingestion.srt.passphrase),
    MIRROR_CONFIG_KEY(kInt, ingestion.srt.pbkeylen),
    MIRROR_CONFIG_KEY(kBool, ingestion.rtp.enabled),
    MIRROR_CONFIG_KEY(kInt, ingestion.rtp.port),
    MIRROR_CONFIG_KEY(kSize, ingestion.rtp.buffer_size),
    MIRROR_CONFIG_KEY(kDuration, ingestion.rtp.jitter_buffer),
    MIRROR_CONFIG_KEY(kBool, ingestion.rtp.allow_undeclared),
    MIRROR_CONFIG_KEY(kStringList, ingestion.rtp.allowed_sources),
    MIRROR_CONFIG_KEY(kInt, ingestion.max_streams),
    MIRROR_CONFIG_KEY(kDuration, ingestion.reconnect_delay),

    MIRROR_CONFIG_KEY(kBool, transcoding.enabled),
    MIRROR_CONFIG_KEY(kBool, transcoding.use_gpu),
    MIRROR_CONFIG_KEY(kIntList, transcoding.gpu_devices),
    MIRROR_CONFIG_KEY(kInt, transcoding.output_width),
    MIRROR_CONFIG_KEY(kInt, transcoding.output_height),
    MIRROR_CONFIG_KEY(kBitrate, transcoding.output_bitrate),
    MIRROR_CONFIG_KEY(kInt, transcoding.output_fps),
    MIRROR_CONFIG_KEY(kString, transcoding.profile),
    MIRROR_CONFIG_KEY(kBitrate, transcoding.audio_bitrate),
    MIRROR_CONFIG_KEY(kInt, transcoding.audio_sample_rate),
    MIRROR_CONFIG_KEY(kInt, transcoding.worker_threads),
    MIRROR_CONFIG_KEY(kInt, transcoding.max_queue_size),
    MIRROR_CONFIG_KEY(kRenditionList, transcoding.renditions),

    MIRROR_CONFIG_KEY(kDuration, packaging.part_duration),
    MIRROR_CONFIG_KEY(kInt, packaging.playlist_segments),
    MIRROR_CONFIG_KEY(kDuration, packaging.max_segment_duration),
    MIRROR_CONFIG_KEY(kDuration, packaging.discontinuity_threshold),

    MIRROR_CONFIG_KEY(kBool, storage.s3.enabled),
    MIRROR_CONFIG_KEY(kString, storage.s3.endpoint),
    MIRROR_CONFIG_KEY(kString, storage.s3.region),
    MIRROR_CONFIG_KEY(kString, storage.s3.bucket),
    MIRROR_SECRET_KEY(storage.s3.access_key_id),
    MIRROR_SECRET_KEY(storage.s3.secret_access_key),
    MIRROR_CONFIG_KEY(kBool, storage.s3.use_ssl),
    MIRROR_CONFIG_KEY(kString, storage.local.cache_dir),
    MIRROR_CONFIG_KEY(kSize, storage.local.max_cache_size),
    MIRROR_CONFIG_KEY(kDuration, storage.local.ttl),
    MIRROR_CONFIG_KEY(kBool, storage.dvr.enabled),
    MIRROR_CONFIG_KEY(kDuration, storage.dvr.retention_time),
    MIRROR_CONFIG_KEY(kDuration, storage.dvr.segment_length),

    MIRROR_CONFIG_KEY(kString, redis.addr),
    MIRROR_SECRET_KEY(redis.password),
    MIRROR_CONFIG_KEY(kInt, redis.db),
    MIRROR_CONFIG_KEY(kInt, redis.max_retries),
    MIRROR_CONFIG_KEY(kDuration, redis.dial_timeout),
    MIRROR_CONFIG_KEY(kDuration, redis.read_timeout),
    MIRROR_CONFIG_KEY(kDuration, redis.write_timeout),
    MIRROR_CONFIG_KEY(kInt, redis.pool_size),
    MIRROR_CONFIG_KEY(kStringList, redis.sentinels),
    MIRROR_CONFIG_KEY(kString, redis.master_name),

    MIRROR_CONFIG_KEY(kString, cluster.node_id),
    MIRROR_CONFIG_KEY(kString, cluster.advertise_url),
    MIRROR_CONFIG_KEY(kDuration, cluster.heartbeat),

    MIRROR_CONFIG_KEY(kString, monitoring.metrics_path),
    MIRROR_CONFIG_KEY(kString, monitoring.health_check_path),
    MIRROR_CONFIG_KEY(kDuration, monitoring.scrape_interval),
};

#undef MIRROR_SECRET_KEY
#undef MIRROR_CONFIG_KEY
#undef MIRROR_CONFIG_KEY_IMPL

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> parse_int_list(std::string_view text, std::vector<int>& out) {
  std::vector<int> values;
  if (!trim(text).empty()) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      int value = 0;
      if (auto error = parse_int(text.substr(start, comma - start), value)) {
        return quote_value(text, false) + " is not a comma-separated list of integers: " + *error;
      }
      values.push_back(value);
      start = comma + 1;
    }
  }
  out = std::move(values);
  return std::nullopt;
}

std::optional<std::string> parse_rendition_list(std::string_view text,
                                                std::vector<RenditionConfig>& out) {
  std::vector<RenditionConfig> values;
  if (!trim(text).empty()) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      RenditionConfig value;
      if (auto error = parse_rendition(text.substr(start, comma - start), value)) return error;
      values.push_back(std::move(value));
      start = comma + 1;
    }
  }
  out = std::move(values);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_rendition(std::string_view original, RenditionConfig& out) {
  const std::string_view text = trim(original);
  const auto fail = [&](std::string_view why) {
    return quote_value(original, false) + " is not a rendition NAME:WIDTHxHEIGHT:BITRATE[:FPS] (" +
           std::string(why) + ")";
  };
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = text.find(':', start);
    fields.push_back(trim(text.substr(start, colon == std::string_view::npos ? colon : colon - start)));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() < 3 || fields.size() > 4) return fail("3 or 4 fields separated by ':'");
  RenditionConfig r;
  r.name = std::string(fields[0]);
  const std::size_t x = fields[1].find('x');
  if (x == std::string_view::npos) return fail("size must be WIDTHxHEIGHT");
  if (parse_int(fields[1].substr(0, x), r.width) || parse_int(fields[1].substr(x + 1), r.height)) {
    return fail("size must be WIDTHxHEIGHT");
  }
  auto bitrate = parse_bitrate(fields[2]);
  if (!bitrate) return fail(bitrate.error().message);
  r.bitrate = *bitrate;
  if (fields.size() == 4 && parse_int(fields[3], r.fps)) return fail("fps must be an integer");
  out = std::move(r);
  return std::nullopt;
}

std::string format_rendition(const RenditionConfig& r) {
  std::string out = r.name + ":" + std::to_string(r.width) + "x" + std::to_string(r.height) + ":" +
                    std::to_string(r.bitrate);
  if (r.fps != 0) out += ":" + std::to_string(r.fps);
  return out;
}

std::span<const ConfigKey> keys() {
  return kKeys;
}

const ConfigKey* find_key(std::string_view path) {
  for (const ConfigKey& key : kKeys) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

bool is_section(std::string_view path) {
  return std::any_of(kKeys.begin(), kKeys.end(), [path](const ConfigKey& key) {
    return key.path.size() > path.size() && key.path.starts_with(path) &&
           key.path[path.size()] == '.';
  });
}

std::string env_name(std::string_view path) {
  std::string name = "MIRROR_";
  for (char c : path) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

const ConfigKey* find_key_by_env(std::string_view variable) {
  for (const ConfigKey& key : kKeys) {
    if (env_name(key.path) == variable) return &key;
  }
  return nullptr;
}

std::string_view describe_kind(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool:
      return "true or false";
    case ValueKind::kInt:
      return "an integer";
    case ValueKind::kSize:
      return "a size such as 1048576 or 10GiB";
    case ValueKind::kBitrate:
      return "a bitrate such as 400000 or 400k";
    case ValueKind::kDuration:
      return "a duration such as 120ms or 30s";
    case ValueKind::kString:
      return "a string";
    case ValueKind::kIntList:
      return "a list of integers";
    case ValueKind::kStringList:
      return "a list of strings";
    case ValueKind::kRenditionList:
      return "a list of renditions (name, width, height, bitrate, fps)";
  }
  return "a value";
}

std::optional<bool> parse_bool(std::string_view text) {
  // YAML 1.1 spellings as yaml-cpp reads them, plus 1/0 for the environment.
  const std::string word = lower(trim(text));
  if (word == "true" || word == "yes" || word == "on" || word == "1") return true;
  if (word == "false" || word == "no" || word == "off" || word == "0") return false;
  return std::nullopt;
}

std::optional<std::string> parse_int(std::string_view original, int& out) {
  std::string_view text = trim(original);
  if (text.starts_with("+") && !text.starts_with("+-")) text.remove_prefix(1);
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    return quote_value(original, false) + " is not an integer";
  }
  if (ec == std::errc::result_out_of_range || value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    return quote_value(original, false) + " is out of range for an integer";
  }
  out = static_cast<int>(value);
  return std::nullopt;
}

std::optional<std::string> assign_text(const ConfigKey& key, Config& config,
                                       std::string_view text) {
  const FieldRef field = key.field(config);
  switch (key.kind) {
    case ValueKind::kBool: {
      const std::optional<bool> value = parse_bool(text);
      if (!value) return quote_value(text, false) + " is not true or false";
      *std::get<bool*>(field) = *value;
      return std::nullopt;
    }
    case ValueKind::kInt:
      return parse_int(text, *std::get<int*>(field));
    case ValueKind::kSize:
    case ValueKind::kBitrate: {
      auto value = key.kind == ValueKind::kSize ? parse_size(text) : parse_bitrate(text);
      if (!value) return value.error().message;
      *std::get<std::int64_t*>(field) = *value;
      return std::nullopt;
    }
    case ValueKind::kDuration: {
      auto value = parse_duration(text);
      if (!value) return value.error().message;
      *std::get<std::chrono::nanoseconds*>(field) = *value;
      return std::nullopt;
    }
    case ValueKind::kString:
      *std::get<std::string*>(field) = std::string(text);
      return std::nullopt;
    case ValueKind::kIntList:
      return parse_int_list(text, *std::get<std::vector<int>*>(field));
    case ValueKind::kStringList: {
      // The environment's form: comma-separated, blanks around items trimmed.
      std::vector<std::string> values;
      if (!trim(text).empty()) {
        std::size_t start = 0;
        while (start <= text.size()) {
          const std::size_t comma = std::min(text.find(',', start), text.size());
          values.emplace_back(trim(text.substr(start, comma - start)));
          start = comma + 1;
        }
      }
      *std::get<std::vector<std::string>*>(field) = std::move(values);
      return std::nullopt;
    }
    case ValueKind::kRenditionList:
      return parse_rendition_list(text, *std::get<std::vector<RenditionConfig>*>(field));
  }
  return "unsupported value kind";
}

std::string quote_value(std::string_view text, bool secret) {
  if (secret && !text.empty()) return "******";
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace mirror::core::config_schema
