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
    if (key.kind == ValueKind::kString || key.kind == ValueKind::kIntList) {
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
