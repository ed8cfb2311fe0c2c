#include "support/api_schema.h"

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace mirror::testing {
namespace {

const nlohmann::json& description() {
  static const nlohmann::json doc = [] {
    std::ifstream in(MIRROR_TEST_API_DESCRIPTION);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str(), nullptr, false);
  }();
  return doc;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

// The described path template that `path` is, or nullptr.
const nlohmann::json* operation_for(const nlohmann::json& doc, std::string_view method, std::string_view path) {
  const auto want = segments(path);
  for (const auto& [pattern, item] : doc["paths"].items()) {
    const auto have = segments(pattern);
    if (have.size() != want.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < have.size() && same; ++i) {
      same = (have[i].starts_with('{') && !want[i].empty()) || have[i] == want[i];
    }
    if (!same) continue;
    std::string m(method);
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto op = item.find(m); op != item.end()) return &*op;
  }
  return nullptr;
}

bool is_type(const nlohmann::json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() || v.is_number_unsigned() ||
           (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
  }
  return false;
}

std::mutex watched_mutex;
std::map<int, std::vector<std::string>> watched;

}  // namespace

std::vector<std::string> schema_problems(const nlohmann::json& doc, const nlohmann::json& schema,
                                         const nlohmann::json& value, const std::string& where) {
  std::vector<std::string> out;
  if (!schema.is_object()) return out;
  auto add = [&](std::vector<std::string> more) { out.insert(out.end(), more.begin(), more.end()); };
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    const std::string prefix = "#/components/schemas/";
    const std::string text = ref->is_string() ? ref->get<std::string>() : std::string();
    if (!text.starts_with(prefix) || !doc["components"]["schemas"].contains(text.substr(prefix.size()))) {
      out.push_back(where + ": unknown $ref " + ref->dump());
      return out;
    }
    add(schema_problems(doc, doc["components"]["schemas"][text.substr(prefix.size())], value, where));
  }
  if (auto type = schema.find("type"); type != schema.end()) {
    bool ok = false;
    if (type->is_string()) ok = is_type(value, *type);
    if (type->is_array()) {
      for (const auto& t : *type) ok = ok || is_type(value, t);
    }
    if (!ok) {
      out.push_back(where + ": " + value.dump().substr(0, 80) + " is not of type " + type->dump());
      return out;
    }
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (std::find(e->begin(), e->end(), value) == e->end()) out.push_back(where + ": " + value.dump() + " not in " + e->dump());
  }
  if (auto c = schema.find("const"); c != schema.end() && *c != value) {
    out.push_back(where + ": " + value.dump() + " is not " + c->dump());
  }
  if (value.is_number()) {
    if (auto m = schema.find("minimum"); m != schema.end() && value.get<double>() < m->get<double>()) {
      out.push_back(where + ": below " + m->dump());
    }
    if (auto m = schema.find("maximum"); m != schema.end() && value.get<double>() > m->get<double>()) {
      out.push_back(where + ": above " + m->dump());
    }
  }
  if (value.is_object()) {
    if (auto req = schema.find("required"); req != schema.end()) {
      for (const auto& key : *req) {
        if (!value.contains(key.get<std::string>())) out.push_back(where + ": lacks \"" + key.get<std::string>() + "\"");
      }
    }
    const auto props = schema.find("properties");
    for (const auto& [key, v] : value.items()) {
      if (props != schema.end() && props->contains(key)) {
        add(schema_problems(doc, (*props)[key], v, where + "." + key));
      } else if (auto extra = schema.find("additionalProperties"); extra != schema.end()) {
        if (extra->is_boolean() && !extra->get<bool>()) out.push_back(where + ": unexpected \"" + key + "\"");
        if (extra->is_object()) add(schema_problems(doc, *extra, v, where + "." + key));
      }
    }
  }
  if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        add(schema_problems(doc, *items, value[i], where + "[" + std::to_string(i) + "]"));
      }
    }
  }
  if (auto all = schema.find("allOf"); all != schema.end()) {
    for (const auto& s : *all) add(schema_problems(doc, s, value, where));
  }
  for (const char* kind : {"anyOf", "oneOf"}) {
    if (auto any = schema.find(kind); any != schema.end()) {
      int matching = 0;
      for (const auto& s : *any) matching += schema_problems(doc, s, value, where).empty() ? 1 : 0;
      if (matching == 0 || (std::string(kind) == "oneOf" && matching > 1)) {
        out.push_back(where + ": matches " + std::to_string(matching) + " of " + kind);
      }
    }
  }
  return out;
}

std::vector<std::string> check_api_answer(std::string_view method, std::string_view target, int status,
                                          std::string_view content_type, std::string_view body) {
  const auto& doc = description();
  if (!doc.is_object()) return {"the API description does not parse"};
  const auto path = target.substr(0, target.find('?'));
  const auto* op = operation_for(doc, method, path);
  if (op == nullptr || status == 0) return {};
  const std::string what = std::string(method) + " " + std::string(path) + " " + std::to_string(status);
  const auto& responses = (*op)["responses"];
  const auto code = std::to_string(status);
  nlohmann::json schema;
  if (responses.contains(code)) {
    const auto& r = responses[code];
    if (!r.contains("content")) return {};
    if (!r["content"].contains("application/json")) {
      if (content_type.starts_with("application/json")) return {what + ": JSON where the description has none"};
      return {};
    }
    schema = r["content"]["application/json"]["schema"];
  } else if (status >= 400) {
    // Errors the description does not list (a 413 from the transport, a
    // 405) still have the error's shape.
    schema = {{"$ref", "#/components/schemas/Error"}};
  } else {
    return {what + ": status not described"};
  }
  if (!content_type.starts_with("application/json")) return {what + ": not JSON (" + std::string(content_type) + ")"};
  const auto value = nlohmann::json::parse(body, nullptr, false);
  if (value.is_discarded()) return {what + ": the body does not parse"};
  auto problems = schema_problems(doc, schema, value);
  for (auto& p : problems) p = what + ": " + p;
  return problems;
}

void watch_api_port(int port) {
  std::lock_guard lock(watched_mutex);
  watched[port];
}

std::vector<std::string> take_api_problems(int port) {
  std::lock_guard lock(watched_mutex);
  auto it = watched.find(port);
  if (it == watched.end()) return {};
  auto out = std::move(it->second);
  watched.erase(it);
  return out;
}

void note_api_answer(int port, std::string_view method, std::string_view target, int status,
                     std::string_view content_type, std::string_view body) {
  {
    std::lock_guard lock(watched_mutex);
    if (!watched.count(port)) return;
  }
  auto problems = check_api_answer(method, target, status, content_type, body);
  if (problems.empty()) return;
  std::lock_guard lock(watched_mutex);
  if (auto it = watched.find(port); it != watched.end()) it->second.insert(it->second.end(), problems.begin(), problems.end());
}

}  // namespace mirror::testing
