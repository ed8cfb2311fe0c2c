#include "http/router.h"

#include <stdexcept>

namespace mirror::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

}  // namespace

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  Route r{std::string(method), std::string(pattern), {}, std::move(handler)};
  for (auto part : split_path(pattern)) {
    Segment s;
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      s.param = true;
      s.text = std::string(part.substr(1, part.size() - 2));
      if (s.text.ends_with("...")) {
        s.rest = true;
        s.text.resize(s.text.size() - 3);
      }
    } else {
      s.text = std::string(part);
    }
    if (!r.segments.empty() && r.segments.back().rest) {
      throw std::invalid_argument("a {name...} segment must be last: " + r.pattern);
    }
    r.segments.push_back(std::move(s));
  }
  routes_.push_back(std::move(r));
}

bool Router::match(const Route& route, const std::vector<std::string_view>& parts, Request* fill) {
  std::size_t i = 0;
  for (; i < route.segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.rest) {
      if (i >= parts.size()) return false;
      if (fill != nullptr) {
        std::string joined;
        for (std::size_t j = i; j < parts.size(); ++j) {
          if (j > i) joined.push_back('/');
          joined.append(parts[j]);
        }
        fill->path_params[s.text] = std::move(joined);
      }
      return true;
    }
    if (i >= parts.size()) return false;
    if (s.param) {
      if (fill != nullptr) fill->path_params[s.text] = std::string(parts[i]);
    } else if (s.text != parts[i]) {
      return false;
    }
  }
  return i == parts.size();
}

void Router::dispatch(const ExchangePtr& exchange) const {
  Request& req = exchange->request();
  const std::string_view method = req.method == "HEAD" ? std::string_view("GET") : req.method;
  const auto parts = split_path(req.path);
  std::string allow;
  for (const auto& route : routes_) {
    if (!match(route, parts, nullptr)) continue;
    if (route.method == method) {
      match(route, parts, &req);
      exchange->set_route(route.pattern);
      route.handler(exchange);
      return;
    }
    if (allow.find(route.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += route.method;
      if (route.method == "GET") allow += ", HEAD";
    }
  }
  if (!allow.empty()) {
    exchange->set_route("method_not_allowed");
    Response res = json_response(
        405, core::Error(core::ErrorCode::kInvalidInput, "method not allowed",
                         {{"method", req.method}, {"allow", allow}})
                 .to_json_string());
    res.headers.set("Allow", allow);
    exchange->respond(std::move(res));
    return;
  }
  exchange->set_route("not_found");
  exchange->respond_error(
      core::Error(core::ErrorCode::kNotFound, "no such resource", {{"path", req.path}}));
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

}  // namespace mirror::http
