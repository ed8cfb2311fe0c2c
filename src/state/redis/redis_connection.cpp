#include "state/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

namespace mirror::state::redis {
namespace {

timeval to_timeval(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

std::string where(const core::HostPort& a) { return a.host + ":" + std::to_string(a.port); }

std::size_t digits(std::size_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

// The reply's size on the wire (RESP2).
std::size_t wire_size(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return 1 + digits(r->len) + 2 + r->len + 2;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return 1 + r->len + 2;
    case REDIS_REPLY_INTEGER:
      return 1 + 20 + 2;
    case REDIS_REPLY_NIL:
      return 5;
    case REDIS_REPLY_ARRAY: {
      std::size_t n = 1 + digits(r->elements) + 2;
      for (std::size_t i = 0; i < r->elements; ++i) n += wire_size(r->element[i]);
      return n;
    }
    default:
      return 0;
  }
}

RedisReply copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

core::Result<redisContext*> connect_only(const core::HostPort& address, const RedisOptions& options) {
  redisContext* c = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(options.dial_timeout));
  if (c == nullptr) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "Redis: out of memory connecting",
                       {{"address", where(address)}});
  }
  if (c->err != 0) {
    std::string cause = c->errstr;
    redisFree(c);
    return core::Error(core::ErrorCode::kServiceUnavailable, "Redis is unreachable: " + cause,
                       {{"address", where(address)}});
  }
  const timeval rcv = to_timeval(options.read_timeout);
  const timeval snd = to_timeval(options.write_timeout);
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
  redisEnableKeepAlive(c);
  return c;
}

}  // namespace

RedisOptions RedisOptions::from(const core::RedisConfig& config) {
  RedisOptions o;
  o.password = config.password;
  o.db = config.db;
  o.dial_timeout = config.dial_timeout;
  o.read_timeout = config.read_timeout;
  o.write_timeout = config.write_timeout;
  return o;
}

RedisConnection::RedisConnection(redisContext* context, core::HostPort address)
    : context_(context), address_(std::move(address)) {}

RedisConnection::~RedisConnection() { redisFree(context_); }

core::Result<std::unique_ptr<RedisConnection>> RedisConnection::open_sentinel(const core::HostPort& address,
                                                                              const RedisOptions& options) {
  auto made = connect_only(address, options);
  if (!made) return made.error();
  return std::unique_ptr<RedisConnection>(new RedisConnection(*made, address));
}

core::Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const core::HostPort& address,
                                                                     const RedisOptions& options) {
  auto made = open_sentinel(address, options);
  if (!made) return made.error();
  std::unique_ptr<RedisConnection> conn = std::move(*made);
  if (!options.password.empty()) {
    auto r = conn->command({"AUTH", options.password});
    if (!r) return r.error();
    if (r->is_error()) {
      // WRONGPASS, or "AUTH ... called without any password configured".
      return core::Error(core::ErrorCode::kUnauthorized, "Redis refused the password (redis.password): " + r->str,
                         {{"address", where(address)}});
    }
  }
  auto r = conn->command({"SELECT", std::to_string(options.db)});
  if (!r) return r.error();
  if (r->is_error()) {
    if (r->str.starts_with("NOAUTH")) {
      return core::Error(core::ErrorCode::kUnauthorized,
                         "Redis wants a password (redis.password is empty): " + r->str,
                         {{"address", where(address)}});
    }
    return core::Error(core::ErrorCode::kServiceUnavailable, "Redis refused SELECT (redis.db): " + r->str,
                       {{"address", where(address)}, {"db", options.db}});
  }
  return conn;
}

core::Error RedisConnection::io_error(std::string_view what) {
  broken_ = true;
  std::string cause = context_->err != 0 ? context_->errstr : "connection failed";
  if (context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) cause = "timed out";
  return core::Error(core::ErrorCode::kServiceUnavailable, "Redis " + std::string(what) + ": " + cause,
                     {{"address", where(address_)}});
}

RedisReply RedisConnection::take(void* raw) {
  auto* r = static_cast<redisReply*>(raw);
  bytes_received_ += wire_size(r);
  RedisReply out = copy(r);
  freeReplyObject(r);
  return out;
}

void RedisConnection::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* formatted = nullptr;
  const int len = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (len < 0) {
    broken_ = true;
    return;
  }
  redisAppendFormattedCommand(context_, formatted, static_cast<std::size_t>(len));
  redisFreeCommand(formatted);
  bytes_sent_ += static_cast<std::uint64_t>(len);
  ++commands_;
}

core::Result<RedisReply> RedisConnection::reply() {
  if (broken_) return core::Error(core::ErrorCode::kServiceUnavailable, "Redis connection is broken");
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return io_error("did not answer");
  return take(raw);
}

core::Result<RedisReply> RedisConnection::command(const std::vector<std::string>& args) {
  append(args);
  return reply();
}

core::Status RedisConnection::read_available() {
  if (broken_) return core::Error(core::ErrorCode::kServiceUnavailable, "Redis connection is broken");
  if (redisBufferRead(context_) != REDIS_OK) return io_error("closed the event connection");
  return core::Ok{};
}

std::optional<RedisReply> RedisConnection::next_pushed() {
  if (broken_) return std::nullopt;
  void* raw = nullptr;
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
    broken_ = true;
    return std::nullopt;
  }
  if (raw == nullptr) return std::nullopt;
  return take(raw);
}

int RedisConnection::fd() const { return context_->fd; }

core::Result<core::HostPort> discover_master(const std::vector<std::string>& sentinels,
                                             const std::string& master_name, const RedisOptions& options) {
  std::string causes;
  for (const auto& text : sentinels) {
    const auto address = core::parse_host_port(text);
    if (!address) continue;
    auto conn = RedisConnection::open_sentinel(*address, options);
    if (!conn) {
      causes += (causes.empty() ? "" : "; ") + text + ": " + conn.error().message;
      continue;
    }
    auto r = (*conn)->command({"SENTINEL", "get-master-addr-by-name", master_name});
    if (!r) {
      causes += (causes.empty() ? "" : "; ") + text + ": " + r.error().message;
      continue;
    }
    if (r->type != RedisReply::Type::kArray || r->elements.size() != 2 || !r->elements[0].is_string() ||
        !r->elements[1].is_string()) {
      causes += (causes.empty() ? "" : "; ") + text + ": does not know master \"" + master_name + "\"";
      continue;
    }
    const std::string& host = r->elements[0].str;
    auto master = core::parse_host_port(host.find(':') != std::string::npos ? "[" + host + "]:" + r->elements[1].str
                                                                             : host + ":" + r->elements[1].str);
    if (!master) {
      causes += (causes.empty() ? "" : "; ") + text + ": gave an unusable address";
      continue;
    }
    return *master;
  }
  return core::Error(core::ErrorCode::kServiceUnavailable, "no sentinel named the master: " + causes,
                     {{"master_name", master_name}});
}

}  // namespace mirror::state::redis
