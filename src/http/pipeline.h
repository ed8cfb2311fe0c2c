// The request path every transport feeds: filters (request id, CORS, access
// log, metrics) run in order, then the router. A filter may answer on its own
// (a CORS preflight) and stop the chain. Built at start-up, then read-only.
#pragma once

#include "http/exchange.h"
#include "http/router.h"

#include <functional>
#include <vector>

namespace mirror::http {

// Returns false when it has answered the exchange itself.
using Filter = std::function<bool(const ExchangePtr&)>;

class Pipeline {
 public:
  void use(Filter filter) { filters_.push_back(std::move(filter)); }
  Router& router() { return router_; }
  const Router& router() const { return router_; }

  void dispatch(const ExchangePtr& exchange) const;

 private:
  std::vector<Filter> filters_;
  Router router_;
};

}  // namespace mirror::http
