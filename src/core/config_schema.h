// The single table of configuration keys behind core/config.h: one descriptor
// per key (dotted path, kind of value, accessors to its Config field). YAML
// parsing, environment overrides, to_yaml, validation of durations and
// unknown-key detection all walk this table, so a key is declared once.
// Internal to the config module; other rooms use core/config.h. Immutable,
// safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config.h"

namespace mirror::core::config_schema {

// How a key's text is parsed and written; kSize and kBitrate are both int64_t
// fields but read different suffixes.
enum class ValueKind {
  kBool,
  kInt,
  kSize,
  kBitrate,
  kDuration,
  kString,
  kIntList,
  kStringList,
  kRenditionList
};

using FieldRef = std::variant<bool*, int*, std::int64_t*, std::chrono::nanoseconds*, std::string*,
                              std::vector<int>*, std::vector<std::string>*,
                              std::vector<RenditionConfig>*>;
using ConstFieldRef =
    std::variant<const bool*, const int*, const std::int64_t*, const std::chrono::nanoseconds*,
                 const std::string*, const std::vector<int>*, const std::vector<std::string>*,
                 const std::vector<RenditionConfig>*>;

struct ConfigKey {
  std::string_view path;  // "ingestion.srt.latency"
  ValueKind kind;
  bool secret;  // masked by to_yaml and in messages
  FieldRef (*field)(Config&);
  ConstFieldRef (*const_field)(const Config&);
};

// Every key, in the order of config.h (and so of to_yaml).
std::span<const ConfigKey> keys();

const ConfigKey* find_key(std::string_view path);

// True for "server", "ingestion", "ingestion.srt", ...: paths that hold keys.
bool is_section(std::string_view path);

// "ingestion.srt.latency" -> "MIRROR_INGESTION_SRT_LATENCY".
std::string env_name(std::string_view path);

// The key overridden by a MIRROR_* variable, or nullptr.
const ConfigKey* find_key_by_env(std::string_view variable);

// What a value of this kind looks like, for "expected ..." messages.
std::string_view describe_kind(ValueKind kind);

// Scalars as written in YAML or the environment. Errors start with the text.
std::optional<bool> parse_bool(std::string_view text);
std::optional<std::string> parse_int(std::string_view text, int& out);

// One rendition written as text: NAME:WIDTHxHEIGHT:BITRATE[:FPS]
// ("360p:640x360:400k:30"). Errors start with the text.
std::optional<std::string> parse_rendition(std::string_view text, RenditionConfig& out);
std::string format_rendition(const RenditionConfig& rendition);

// Parses `text` by the key's kind and stores it in `config`; lists are comma
// separated ("0,1", "360p:640x360:400k,180p:320x180:150k"). Returns an error message starting with the offending
// value (without the key), or nullopt on success.
std::optional<std::string> assign_text(const ConfigKey& key, Config& config, std::string_view text);

// "\"text\"" for messages, or "******" for a non-empty secret.
std::string quote_value(std::string_view text, bool secret);

}  // namespace mirror::core::config_schema
