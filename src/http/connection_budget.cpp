#include "http/connection_budget.h"

#include <algorithm>

namespace mirror::http {

ConnectionBudget::ConnectionBudget(int max_total, int max_per_address)
    : max_total_(std::max(1, max_total)), max_per_address_(std::max(1, max_per_address)) {}

ConnectionBudget::Verdict ConnectionBudget::acquire(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Verdict::kServerFull;
  int& mine = per_address_[address];
  if (mine >= max_per_address_) return Verdict::kAddressFull;
  ++mine;
  ++total_;
  return Verdict::kAccepted;
}

void ConnectionBudget::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second <= 0) per_address_.erase(it);
  --total_;
}

int ConnectionBudget::open() const {
  std::lock_guard lock(mutex_);
  return total_;
}

int ConnectionBudget::open_from(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace mirror::http
