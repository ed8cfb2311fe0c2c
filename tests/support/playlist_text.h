// Test support: reading values out of HLS playlist text without a regex
// engine (std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer builds).
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mirror::testing {

// The value of attribute `name` in the first line starting with "TAG:"
// ("" when absent); quotes are removed. A bare tag value ("#EXTINF:1.0,")
// is read with an empty `name`.
inline std::string tag_attribute(std::string_view playlist, std::string_view tag, std::string_view name) {
  std::istringstream in{std::string(playlist)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(std::string(tag) + ":", 0) != 0) continue;
    std::string_view rest = std::string_view(line).substr(tag.size() + 1);
    if (!name.empty()) {
      std::size_t at = 0;
      while (true) {
        at = rest.find(std::string(name) + "=", at);
        if (at == std::string_view::npos) return "";
        if (at == 0 || rest[at - 1] == ',') break;
        ++at;
      }
      rest = rest.substr(at + name.size() + 1);
    }
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      const auto close = rest.find('"', 1);
      value = std::string(rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    } else {
      value = std::string(rest.substr(0, rest.find(',')));
    }
    return value;
  }
  return "";
}

// The durations of every EXTINF (tag "#EXTINF") or EXT-X-PART ("#EXT-X-PART").
inline std::vector<double> tag_durations(const std::vector<std::string>& playlist, const std::string& tag) {
  std::vector<double> out;
  for (const auto& line : playlist) {
    if (line.rfind(tag + ":", 0) != 0) continue;
    std::string_view rest = std::string_view(line).substr(tag.size() + 1);
    if (rest.rfind("DURATION=", 0) == 0) rest.remove_prefix(9);
    out.push_back(std::stod(std::string(rest.substr(0, rest.find(',')))));
  }
  return out;
}

// "part-M.P.m4s" -> (M, P).
inline std::optional<std::pair<std::int64_t, int>> parse_part_uri(std::string_view uri) {
  if (uri.rfind("part-", 0) != 0 || uri.size() < 10 || uri.substr(uri.size() - 4) != ".m4s") return std::nullopt;
  const std::string_view body = uri.substr(5, uri.size() - 9);
  const auto dot = body.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == body.size()) return std::nullopt;
  for (char c : body) {
    if ((c < '0' || c > '9') && c != '.') return std::nullopt;
  }
  return std::make_pair(std::stoll(std::string(body.substr(0, dot))), std::stoi(std::string(body.substr(dot + 1))));
}

}  // namespace mirror::testing
