// ConnectionBudget: the connections every HTTP listener of the server may
// hold together (server.max_connections) and those one client address may
// hold (server.max_connections_per_ip), so that one client cannot take every
// slot from the others. Listeners take a slot when they accept a connection
// and give it back when it closes.
//
// Threads: any; one mutex, held for a map lookup.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace mirror::http {

class ConnectionBudget {
 public:
  enum class Verdict { kAccepted, kServerFull, kAddressFull };

  ConnectionBudget(int max_total, int max_per_address);

  // Takes a slot for a connection from `address` (an IP address, no port),
  // unless that would pass a limit.
  Verdict acquire(const std::string& address);
  void release(const std::string& address);

  int open() const;
  int open_from(const std::string& address) const;

 private:
  const int max_total_;
  const int max_per_address_;
  mutable std::mutex mutex_;
  int total_ = 0;
  std::map<std::string, int> per_address_;
};

}  // namespace mirror::http
