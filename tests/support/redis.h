// Test support: real Redis 7 servers and sentinels (Debian's redis-server and
// redis-sentinel) on free loopback ports, without persistence, in a directory
// of the test's own, stopped by their PIDs.
#pragma once

#include "support/process.h"

#include <memory>
#include <string>
#include <vector>

namespace mirror::testing {

class RedisServer {
 public:
  struct Options {
    std::string password;
    int replica_of = 0;  // a master's port on 127.0.0.1: start as its replica
  };
  explicit RedisServer(std::string dir) : RedisServer(std::move(dir), Options{}) {}
  RedisServer(std::string dir, Options options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // False when redis-server is missing or did not answer PING.
  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Stops it (SIGKILL: an outage, its data gone); start() brings an empty
  // server back on the same port.
  void stop();
  bool start();
  // redis-cli against it; the reply text, trimmed.
  std::string cli(const std::vector<std::string>& args) const;
  pid_t pid() const;

 private:
  std::string dir_;
  Options options_;
  int port_;
  bool ready_ = false;
  std::unique_ptr<Process> process_;
};

class RedisSentinel {
 public:
  // Monitors the master on 127.0.0.1:master_port as `master_name`, quorum 1,
  // down after 1 s.
  RedisSentinel(std::string dir, int master_port, std::string master_name, std::string master_password = {});
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string cli(const std::vector<std::string>& args) const;
  // The port of the master it names now (0 when it names none).
  int master_port() const;

 private:
  int master_port_now() const;

  std::string dir_;
  std::string master_name_;
  int port_;
  bool ready_ = false;
  std::unique_ptr<Process> process_;
};

}  // namespace mirror::testing
