// Parsing of request targets: hostile input from the network. Splits path and
// query, percent-decodes the path, rejects encoded NULs, control characters and
// any attempt to climb above the root ("..", "%2e%2e"), and reads query
// parameters. Pure functions over string views; no allocation beyond the result.
#pragma once

#include "core/errors.h"

#include <optional>
#include <string>
#include <string_view>

namespace mirror::http {

struct Target {
  std::string path;   // decoded, starts with '/', no "." or ".." segments, no "//"
  std::string query;  // raw, without the '?'
};

// Accepts origin-form targets ("/a/b?x=1"); anything else is INVALID_INPUT.
core::Result<Target> parse_target(std::string_view target);

// Decodes %XX and, when `plus_is_space`, '+' (query strings). Nullopt on a bad
// escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// First parameter called `name` in a raw query string, decoded; nullopt when
// absent or undecodable. A parameter without '=' has the empty value.
std::optional<std::string> find_query_param(std::string_view query, std::string_view name);

}  // namespace mirror::http
