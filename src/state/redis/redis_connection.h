// One connection to a Redis server over hiredis, blocking with the configured
// timeouts (redis.dial_timeout, read_timeout, write_timeout), authenticated
// (redis.password) and on the configured database (redis.db). Replies are
// copied out of hiredis into RedisReply. Also finds a master through Redis
// Sentinel (redis.sentinels, redis.master_name).
//
// Threads: a connection belongs to the thread that uses it (the registry's).
#pragma once

#include "core/config.h"
#include "core/errors.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace mirror::state::redis {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string str;  // string, status or error text
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_string() const { return type == Type::kString; }
  bool is_nil() const { return type == Type::kNil; }
};

struct RedisOptions {
  std::string password;
  int db = 0;
  std::chrono::nanoseconds dial_timeout = std::chrono::seconds{5};
  std::chrono::nanoseconds read_timeout = std::chrono::seconds{3};
  std::chrono::nanoseconds write_timeout = std::chrono::seconds{3};

  static RedisOptions from(const core::RedisConfig& config);
};

class RedisConnection {
 public:
  // Connects, authenticates and selects the database. Errors name the cause:
  // unreachable, refused password, no such database.
  static core::Result<std::unique_ptr<RedisConnection>> open(const core::HostPort& address,
                                                             const RedisOptions& options);
  // A sentinel: no password, no database.
  static core::Result<std::unique_ptr<RedisConnection>> open_sentinel(const core::HostPort& address,
                                                                      const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command. An error reply from Redis is a RedisReply of type kError; a
  // failed connection (timeout, reset) is an Error, after which the
  // connection is broken for good.
  core::Result<RedisReply> command(const std::vector<std::string>& args);
  // Pipelining: queue several, then read their replies in order.
  void append(const std::vector<std::string>& args);
  core::Result<RedisReply> reply();

  // Pushed messages (after SUBSCRIBE): read what the socket holds without
  // waiting (call when poll() says readable), then take the complete ones.
  core::Status read_available();
  std::optional<RedisReply> next_pushed();

  int fd() const;
  bool broken() const { return broken_; }
  const core::HostPort& address() const { return address_; }
  // RESP bytes written and read, for the metrics.
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::uint64_t bytes_received() const { return bytes_received_; }
  std::uint64_t commands() const { return commands_; }

 private:
  RedisConnection(redisContext* context, core::HostPort address);
  core::Error io_error(std::string_view what);
  RedisReply take(void* raw);

  redisContext* context_;
  core::HostPort address_;
  bool broken_ = false;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t commands_ = 0;
};

// Asks the sentinels in turn for the master they monitor under `master_name`.
core::Result<core::HostPort> discover_master(const std::vector<std::string>& sentinels,
                                             const std::string& master_name, const RedisOptions& options);

}  // namespace mirror::state::redis
