#include "server/service_group.h"

#include "core/logging.h"

namespace mirror::server {

core::Status ServiceGroup::start() {
  for (std::size_t i = started_count(); i < services_.size(); ++i) {
    auto& s = services_[i];
    const auto t0 = std::chrono::steady_clock::now();
    auto st = s->start();
    if (!st) {
      core::log::error("service failed to start",
                       {{"service", s->name()}, {"error", st.error().message}});
      // What started must not outlive a failed start; give it a short grace.
      stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
      return st;
    }
    started_.fetch_add(1, std::memory_order_release);
    core::log::info("service started",
                    {{"service", s->name()},
                     {"ms", std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - t0)
                                .count()}});
  }
  return core::Ok{};
}

void ServiceGroup::stop(core::Deadline deadline) {
  while (started_count() > 0) {
    auto& s = services_[started_.fetch_sub(1, std::memory_order_acq_rel) - 1];
    core::log::info("stopping service", {{"service", s->name()}});
    s->stop(deadline);
  }
}

bool ServiceGroup::is_started(const core::Service* service) const {
  const std::size_t n = started_count();
  for (std::size_t i = 0; i < n; ++i) {
    if (services_[i].get() == service) return true;
  }
  return false;
}

std::vector<std::pair<std::string, core::Health>> ServiceGroup::health() const {
  std::vector<std::pair<std::string, core::Health>> out;
  out.reserve(services_.size());
  for (const auto& s : services_) out.emplace_back(std::string(s->name()), s->health());
  return out;
}

}  // namespace mirror::server
