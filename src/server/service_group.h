// An ordered set of services: started first to last, stopped last to first.
// If one fails to start, those already started are stopped again (in reverse)
// and the failure is returned. Driven from the control thread; health() and
// started_count() may be read from any thread.
#pragma once

#include "core/service.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mirror::server {

class ServiceGroup {
 public:
  void add(std::unique_ptr<core::Service> service) { services_.push_back(std::move(service)); }

  core::Status start();
  // Stops every started service in reverse order, all sharing one deadline.
  void stop(core::Deadline deadline);

  std::size_t started_count() const { return started_.load(std::memory_order_acquire); }
  bool is_started(const core::Service* service) const;
  // Name and health of every service in start order (not started: as reported).
  std::vector<std::pair<std::string, core::Health>> health() const;
  const std::vector<std::unique_ptr<core::Service>>& services() const { return services_; }

 private:
  std::vector<std::unique_ptr<core::Service>> services_;
  std::atomic<std::size_t> started_{0};
};

}  // namespace mirror::server
