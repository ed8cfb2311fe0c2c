// Loading: YAML document -> Config, then MIRROR_* overrides, then validate().
// to_yaml is the way back. Rules live in config_validate.cpp, the key table in
// config_schema.cpp.
#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "core/config_schema.h"
#include "core/units.h"

extern char** environ;  // POSIX; not declared by <unistd.h> without _GNU_SOURCE

namespace mirror::core {
namespace {

namespace schema = config_schema;
using schema::ConfigKey;
using schema::ValueKind;

constexpr std::string_view kEnvPrefix = "MIRROR_";
// Longest rendering of a rejected mapping or list quoted in a message.
constexpr std::size_t kMaxQuotedNode = 60;

std::string location(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ")";
}

// "a mapping {port: 1}" / "a list [1, 2]": what was found where a scalar belongs.
std::string describe_node(const YAML::Node& node, bool secret) {
  std::string what = node.IsMap() ? "a mapping" : node.IsSequence() ? "a list" : "a value";
  if (secret) return what;
  YAML::Node flow = YAML::Clone(node);  // styles are set on nodes, not by the emitter
  flow.SetStyle(YAML::EmitterStyle::Flow);
  YAML::Emitter emitter;
  emitter << flow;
  std::string text = emitter.good() ? emitter.c_str() : "";
  if (text.size() > kMaxQuotedNode) text = text.substr(0, kMaxQuotedNode - 3) + "...";
  return text.empty() ? what : what + " " + text;
}

// A rendition as a mapping {name, width, height, bitrate, fps} (fps optional)
// or as the text form NAME:WIDTHxHEIGHT:BITRATE[:FPS].
bool parse_rendition_node(const std::string& path, const YAML::Node& item, RenditionConfig& out,
                          std::vector<std::string>& errors) {
  if (item.IsScalar()) {
    if (auto error = schema::parse_rendition(item.Scalar(), out)) {
      errors.push_back(path + ": " + *error + location(item.Mark()));
      return false;
    }
    return true;
  }
  if (!item.IsMap()) {
    errors.push_back(path + ": expected a rendition {name, width, height, bitrate, fps}, got " +
                     describe_node(item, false) + location(item.Mark()));
    return false;
  }
  RenditionConfig r;
  r.name.clear();
  bool ok = true;
  bool has_name = false, has_width = false, has_height = false, has_bitrate = false;
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string field = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    const YAML::Node value = it->second;
    const std::string field_path = path + "." + field;
    if (!value.IsScalar()) {
      errors.push_back(field_path + ": expected a value, got " + describe_node(value, false) +
                       location(value.Mark()));
      ok = false;
      continue;
    }
    const std::string& text = value.Scalar();
    std::optional<std::string> error;
    if (field == "name") {
      r.name = text;
      has_name = true;
    } else if (field == "width") {
      error = schema::parse_int(text, r.width);
      has_width = true;
    } else if (field == "height") {
      error = schema::parse_int(text, r.height);
      has_height = true;
    } else if (field == "bitrate") {
      auto bitrate = parse_bitrate(text);
      if (bitrate) {
        r.bitrate = *bitrate;
      } else {
        error = bitrate.error().message;
      }
      has_bitrate = true;
    } else if (field == "fps") {
      error = schema::parse_int(text, r.fps);
    } else {
      // Inside a list a misspelt field would silently fall back to a default.
      error = "unknown field (name, width, height, bitrate, fps)";
    }
    if (error) {
      errors.push_back(field_path + ": " + *error + location(value.Mark()));
      ok = false;
    }
  }
  for (const auto& [present, field] : {std::pair{has_name, "name"}, std::pair{has_width, "width"},
                                       std::pair{has_height, "height"},
                                       std::pair{has_bitrate, "bitrate"}}) {
    if (!present) {
      errors.push_back(path + ": the rendition has no " + field + location(item.Mark()));
      ok = false;
    }
  }
  if (ok) out = std::move(r);
  return ok;
}

void apply_renditions(const std::string& path, const YAML::Node& node,
                      std::vector<RenditionConfig>& out, std::vector<std::string>& errors) {
  std::vector<RenditionConfig> values;
  bool all_valid = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    RenditionConfig r;
    if (parse_rendition_node(path + "[" + std::to_string(i) + "]", node[i], r, errors)) {
      values.push_back(std::move(r));
    } else {
      all_valid = false;
    }
  }
  if (all_valid) out = std::move(values);
}

// Applies one YAML value to the key it belongs to; problems go to `errors`.
void apply_value(const ConfigKey& key, const YAML::Node& node, Config& config,
                 std::vector<std::string>& errors) {
  const std::string path(key.path);
  const std::string where = location(node.Mark());
  const std::string expected(schema::describe_kind(key.kind));
  if (node.IsScalar()) {
    if (auto error = schema::assign_text(key, config, node.Scalar())) {
      errors.push_back(path + ": " + *error + where);
    }
    return;
  }
  if (node.IsNull()) {
    // "password:" with nothing after it plainly means empty; for numbers and
    // durations there is no such obvious reading.
    if (key.kind == ValueKind::kString || key.kind == ValueKind::kIntList ||
        key.kind == ValueKind::kStringList || key.kind == ValueKind::kRenditionList) {
      (void)schema::assign_text(key, config, "");
    } else {
      errors.push_back(path + ": has no value; expected " + expected + where);
    }
    return;
  }
  if (node.IsSequence() && key.kind == ValueKind::kIntList) {
    std::vector<int> values;
    bool all_valid = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      int value = 0;
      if (!item.IsScalar()) {
        errors.push_back(item_path + ": expected an integer, got " + describe_node(item, false) +
                         location(item.Mark()));
        all_valid = false;
      } else if (auto error = schema::parse_int(item.Scalar(), value)) {
        errors.push_back(item_path + ": " + *error + location(item.Mark()));
        all_valid = false;
      } else {
        values.push_back(value);
      }
    }
    if (all_valid) *std::get<std::vector<int>*>(key.field(config)) = std::move(values);
    return;
  }
  if (node.IsSequence() && key.kind == ValueKind::kStringList) {
    std::vector<std::string> values;
    bool all_valid = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (!item.IsScalar()) {
        errors.push_back(path + "[" + std::to_string(i) + "]: expected a string, got " +
                         describe_node(item, false) + location(item.Mark()));
        all_valid = false;
      } else {
        values.push_back(item.Scalar());
      }
    }
    if (all_valid) *std::get<std::vector<std::string>*>(key.field(config)) = std::move(values);
    return;
  }
  if (node.IsSequence() && key.kind == ValueKind::kRenditionList) {
    apply_renditions(path, node, *std::get<std::vector<RenditionConfig>*>(key.field(config)), errors);
    return;
  }
  errors.push_back(path + ": expected " + expected + ", got " + describe_node(node, key.secret) +
                   where);
}

void apply_mapping(const YAML::Node& mapping, const std::string& prefix, Config& config,
                   LoadedConfig& out) {
  for (auto it = mapping.begin(); it != mapping.end(); ++it) {
    const YAML::Node name = it->first;
    const YAML::Node value = it->second;
    if (!name.IsScalar()) {
      out.errors.push_back((prefix.empty() ? std::string("top level") : prefix) +
                           ": a key must be a plain name, got " + describe_node(name, false) +
                           location(name.Mark()));
      continue;
    }
    const std::string path = prefix.empty() ? name.Scalar() : prefix + "." + name.Scalar();
    if (const ConfigKey* key = schema::find_key(path)) {
      apply_value(*key, value, config, out.errors);
    } else if (schema::is_section(path)) {
      if (value.IsMap()) {
        apply_mapping(value, path, config, out);
      } else if (!value.IsNull()) {  // an empty section keeps its defaults
        out.errors.push_back(path + ": expected a section of settings, got " +
                             (value.IsScalar() ? schema::quote_value(value.Scalar(), false)
                                               : describe_node(value, false)) +
                             location(value.Mark()));
      }
    } else {
      // Unknown keys are typos or settings of another version: worth a warning,
      // not worth refusing to start.
      out.warnings.push_back(path + ": unknown key, ignored" + location(name.Mark()));
    }
  }
}

// `label` names the source in syntax errors ("config file x.yaml").
void apply_yaml(std::string_view text, const std::string& label, Config& config,
                LoadedConfig& out) {
  const std::string prefix = label.empty() ? "" : label + ": ";
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsDefined() || root.IsNull()) return;  // an empty file: all defaults
    if (!root.IsMap()) {
      out.errors.push_back(prefix +
                           "expected a mapping of sections (server, ingestion, ...), got " +
                           (root.IsScalar() ? schema::quote_value(root.Scalar(), false)
                                            : describe_node(root, false)) +
                           location(root.Mark()));
      return;
    }
    apply_mapping(root, "", config, out);
  } catch (const YAML::ParserException& e) {
    out.errors.push_back(prefix + "YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                         ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    out.errors.push_back(prefix + "cannot read YAML: " + e.what());
  }
}

void apply_environment(const Environment& env, Config& config, LoadedConfig& out) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with(kEnvPrefix)) continue;
    const ConfigKey* key = schema::find_key_by_env(name);
    if (key == nullptr) {
      out.warnings.push_back(name + ": environment variable matches no configuration key, ignored");
      continue;
    }
    if (auto error = schema::assign_text(*key, config, value)) {
      out.errors.push_back(name + ": " + *error + " (overrides " + std::string(key->path) + ")");
    }
  }
}

void finish(const Environment& env, LoadedConfig& out) {
  apply_environment(env, out.config, out);
  for (std::string& message : validate(out.config)) out.errors.push_back(std::move(message));
}

// The emitter walks the flat key table; sections open and close as the
// dotted prefix changes, which works because the table is grouped by section.
class YamlWriter {
 public:
  explicit YamlWriter(bool mask_secrets) : mask_secrets_(mask_secrets) { out_ << YAML::BeginMap; }

  void write(const ConfigKey& key, const Config& config) {
    std::vector<std::string> segments;
    std::string_view rest = key.path;
    for (std::size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
      segments.emplace_back(rest.substr(0, dot));
      rest.remove_prefix(dot + 1);
    }
    std::size_t common = 0;
    while (common < open_.size() && common < segments.size() && open_[common] == segments[common]) {
      ++common;
    }
    while (open_.size() > common) close_section();
    while (open_.size() < segments.size()) {
      open_.push_back(segments[open_.size()]);
      out_ << YAML::Key << open_.back() << YAML::Value << YAML::BeginMap;
    }
    out_ << YAML::Key << std::string(rest) << YAML::Value;
    write_value(key, key.const_field(config));
  }

  std::string finish() {
    while (!open_.empty()) close_section();
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

 private:
  void close_section() {
    out_ << YAML::EndMap;
    open_.pop_back();
  }

  void write_value(const ConfigKey& key, const schema::ConstFieldRef& field) {
    switch (key.kind) {
      case ValueKind::kBool:
        out_ << *std::get<const bool*>(field);
        return;
      case ValueKind::kInt:
        out_ << *std::get<const int*>(field);
        return;
      case ValueKind::kSize:
      case ValueKind::kBitrate:
        out_ << static_cast<long long>(*std::get<const std::int64_t*>(field));
        return;
      case ValueKind::kDuration:
        out_ << format_duration(*std::get<const std::chrono::nanoseconds*>(field));
        return;
      case ValueKind::kString: {
        const std::string& text = *std::get<const std::string*>(field);
        // Always quoted so that "", "null", "yes" or "8080" come back as strings.
        out_ << YAML::DoubleQuoted
             << (key.secret && mask_secrets_ && !text.empty() ? std::string("******") : text);
        return;
      }
      case ValueKind::kIntList:
        out_ << YAML::Flow << YAML::BeginSeq;
        for (int value : *std::get<const std::vector<int>*>(field)) out_ << value;
        out_ << YAML::EndSeq;
        return;
      case ValueKind::kStringList:
        out_ << YAML::Flow << YAML::BeginSeq;
        for (const std::string& value : *std::get<const std::vector<std::string>*>(field)) {
          out_ << YAML::DoubleQuoted << value;
        }
        out_ << YAML::EndSeq;
        return;
      case ValueKind::kRenditionList: {
        const auto& list = *std::get<const std::vector<RenditionConfig>*>(field);
        if (list.empty()) {
          out_ << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
          return;
        }
        out_ << YAML::BeginSeq;
        for (const RenditionConfig& r : list) {
          out_ << YAML::Flow << YAML::BeginMap;
          out_ << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << r.name;
          out_ << YAML::Key << "width" << YAML::Value << r.width;
          out_ << YAML::Key << "height" << YAML::Value << r.height;
          out_ << YAML::Key << "bitrate" << YAML::Value << static_cast<long long>(r.bitrate);
          out_ << YAML::Key << "fps" << YAML::Value << r.fps;
          out_ << YAML::EndMap;
        }
        out_ << YAML::EndSeq;
        return;
      }
    }
  }

  bool mask_secrets_;
  YAML::Emitter out_;
  std::vector<std::string> open_;
};

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, equals);
    if (name.starts_with(kEnvPrefix)) env.emplace(name, text.substr(equals + 1));
  }
  return env;
}

LoadedConfig load_config(const std::string& path, bool path_is_explicit, const Environment& env) {
  LoadedConfig out;
  out.source = path;
  try {
    std::error_code ec;
    const std::filesystem::file_status status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      if (path_is_explicit) {
        out.errors.push_back("config file " + path + " does not exist");
        return out;
      }
      // Running without the default file is a supported way to start.
      out.used_defaults = true;
      out.source = "built-in defaults";
      finish(env, out);
      return out;
    }
    if (std::filesystem::is_directory(status)) {
      out.errors.push_back("config file " + path + " is a directory, not a file");
      return out;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      out.errors.push_back("config file " + path + " cannot be read: " + std::strerror(errno));
      return out;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      out.errors.push_back("config file " + path + " cannot be read: " + std::strerror(errno));
      return out;
    }
    apply_yaml(text, "config file " + path, out.config, out);
    finish(env, out);
  } catch (const std::exception& e) {
    out.errors.push_back("config file " + path + ": " + e.what());
  }
  return out;
}

LoadedConfig load_config_from_string(std::string_view yaml_text, const Environment& env) {
  LoadedConfig out;
  out.source = "YAML text";
  try {
    apply_yaml(yaml_text, "", out.config, out);
    finish(env, out);
  } catch (const std::exception& e) {
    out.errors.push_back(std::string("cannot load configuration: ") + e.what());
  }
  return out;
}

std::vector<RenditionConfig> effective_renditions(const TranscodingConfig& config) {
  std::vector<RenditionConfig> out = config.renditions;
  if (out.empty()) {
    out.push_back({std::to_string(config.output_height) + "p", config.output_width,
                   config.output_height, config.output_bitrate, 0});
  }
  for (RenditionConfig& r : out) {
    if (r.fps == 0) r.fps = config.output_fps;
  }
  return out;
}

bool is_reserved_rendition_name(std::string_view name) {
  return name == "source" || name == "audio" || name == "transcoded-audio" || name == "dvr";
}

std::string to_yaml(const Config& config, bool mask_secrets) {
  try {
    YamlWriter writer(mask_secrets);
    for (const ConfigKey& key : schema::keys()) writer.write(key, config);
    return writer.finish();
  } catch (const std::exception& e) {
    // Only allocation can fail here; an empty document is the honest answer.
    return "# cannot render configuration: " + std::string(e.what()) + "\n";
  }
}

}  // namespace mirror::core
