#include "http/target.h"

#include <vector>

namespace mirror::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

core::Error bad_target(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

core::Result<Target> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return bad_target("request target must start with '/'");
  }
  auto q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);

  auto decoded = percent_decode(raw_path, false);
  if (!decoded) return bad_target("malformed percent-encoding in path");
  for (unsigned char c : *decoded) {
    if (c < 0x20 || c == 0x7f || c == '\\') return bad_target("control character or backslash in path");
  }

  // Normalise segment by segment; "." is dropped, ".." is refused outright:
  // no legitimate Mirror URL contains it, and resolving it invites traversal.
  std::vector<std::string_view> segments;
  std::string_view rest(*decoded);
  bool trailing_slash = rest.size() > 1 && rest.back() == '/';
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (seg == ".") continue;
    if (seg == "..") return bad_target("path may not contain '..'");
    segments.push_back(seg);
  }
  Target t;
  t.path.reserve(decoded->size());
  for (auto seg : segments) {
    t.path.push_back('/');
    t.path.append(seg);
  }
  if (t.path.empty() || trailing_slash) t.path.push_back('/');
  t.query = std::string(query);
  return t;
}

std::optional<std::string> find_query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto decoded_key = percent_decode(key, true);
    if (decoded_key && *decoded_key == name) return percent_decode(value, true);
  }
  return std::nullopt;
}

}  // namespace mirror::http
