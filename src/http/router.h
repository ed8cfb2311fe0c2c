// Routes requests by method and path pattern. Patterns are literal segments
// and {name} parameters ("/api/v1/streams/{name}"); a final {name...} takes the
// rest of the path. A path that matches no pattern gets 404, a path that
// matches with another method gets 405 with Allow. HEAD is served by GET routes.
// Built at start-up, then read-only: dispatch() is safe from any thread.
#pragma once

#include "http/exchange.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mirror::http {

using Handler = std::function<void(const ExchangePtr&)>;

class Router {
 public:
  void add(std::string_view method, std::string_view pattern, Handler handler);
  void get(std::string_view pattern, Handler h) { add("GET", pattern, std::move(h)); }
  void post(std::string_view pattern, Handler h) { add("POST", pattern, std::move(h)); }
  void del(std::string_view pattern, Handler h) { add("DELETE", pattern, std::move(h)); }

  // Finds the route, fills path_params and the exchange's route, runs the handler.
  void dispatch(const ExchangePtr& exchange) const;

  // Every route as (method, pattern), in the order they were added.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Segment {
    std::string text;
    bool param = false;
    bool rest = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string_view>& parts,
                    Request* fill);

  std::vector<Route> routes_;
};

}  // namespace mirror::http
