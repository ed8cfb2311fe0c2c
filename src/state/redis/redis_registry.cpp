#include "state/redis/redis_registry.h"

#include "core/logging.h"
#include "state/redis/cluster_records.h"
#include "state/redis/redis_connection.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace mirror::state::redis {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;
using namespace std::chrono_literals;

// A value under our keys that is not ours (wrong type, too large, not JSON):
// taken over by the claim and node scripts, skipped by the read script.
constexpr const char* kRecordHelpers = R"lua(
local function record(key)
  if redis.call('TYPE', key).ok ~= 'string' or redis.call('STRLEN', key) > 65536 then return nil end
  local ok, rec = pcall(cjson.decode, redis.call('GET', key))
  if ok and type(rec) == 'table' then return rec end
  return nil
end
)lua";

// KEYS[1] stream key. ARGV: instance, record, lease ms, node key prefix,
// channel, event ("" for a silent renewal). {1} claimed, {2} claimed over a
// value that was not a record, {0, current} held by another node that is up.
constexpr const char* kClaimBody = R"lua(
local cur = record(KEYS[1])
local bad = cur == nil and redis.call('EXISTS', KEYS[1]) == 1
if cur and type(cur.instance) == 'string' and cur.instance ~= ARGV[1] and type(cur.node) == 'string' then
  local owner_key = ARGV[4] .. cur.node
  local owner = record(owner_key)
  if owner and owner.instance == cur.instance and redis.call('PTTL', owner_key) > 0 then
    return {0, redis.call('GET', KEYS[1])}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[6] ~= '' then
  redis.call('PUBLISH', ARGV[5], '{"event":"' .. ARGV[6] .. '","stream":' .. ARGV[2] .. '}')
end
if bad then return {2, ''} end
return {1, ''}
)lua";

// KEYS[1] node key. ARGV: instance, record, lease ms. {1} registered, {2}
// over a value that was not a record, {0, current} the id is held by another
// process that renews it (a key without a lease is nobody's).
constexpr const char* kNodeBody = R"lua(
local cur = record(KEYS[1])
local bad = cur == nil and redis.call('EXISTS', KEYS[1]) == 1
if cur and type(cur.instance) == 'string' and cur.instance ~= ARGV[1] and redis.call('PTTL', KEYS[1]) > 0 then
  return {0, redis.call('GET', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if bad then return {2, ''} end
return {1, ''}
)lua";

// KEYS[1] stream or node key. ARGV: instance, channel, message ("" for
// none). Deletes the key only if this process holds it.
constexpr const char* kReleaseBody = R"lua(
local cur = record(KEYS[1])
if cur and cur.instance == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
  return 1
end
return 0
)lua";

// KEYS: keys found by SCAN. Flat {value, pttl, ...}; value false when the key
// is gone, "!type" or "!size" when it is not something to read.
constexpr const char* kReadScript = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key).ok
  if t == 'none' then out[2 * i - 1] = false
  elseif t ~= 'string' then out[2 * i - 1] = '!type'
  elseif redis.call('STRLEN', key) > 65536 then out[2 * i - 1] = '!size'
  else out[2 * i - 1] = redis.call('GET', key) end
  out[2 * i] = redis.call('PTTL', key)
end
return out
)lua";

enum class Script { kClaim, kNode, kRelease, kRead };
constexpr std::size_t kScripts = 4;

std::string script_text(Script s) {
  switch (s) {
    case Script::kClaim:
      return std::string(kRecordHelpers) + kClaimBody;
    case Script::kNode:
      return std::string(kRecordHelpers) + kNodeBody;
    case Script::kRelease:
      return std::string(kRecordHelpers) + kReleaseBody;
    case Script::kRead:
      return kReadScript;
  }
  return {};
}

std::string random_instance() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string out;
  for (int i = 0; i < 16; ++i) out.push_back("0123456789abcdef"[hex(rd)]);
  return out;
}

std::string ms_text(std::chrono::nanoseconds d) {
  return std::to_string(std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

std::string where(const core::HostPort& a) { return a.host + ":" + std::to_string(a.port); }

// A queued piece of work for the registry's thread.
struct Op {
  enum class Kind { kSync, kRelease, kEnd };
  Kind kind = Kind::kSync;
  StreamRecord record;  // kSync: only the name; kRelease: what was held; kEnd: the owner
  std::string event;    // kSync: "added", "changed"
};

}  // namespace

struct RedisStreamRegistry::Impl {
  Impl(RedisRegistryOptions o, core::MetricsRegistry& metrics)
      : options(std::move(o)),
        redis_options(RedisOptions::from(options.redis)),
        keys{options.key_prefix},
        instance(random_instance()),
        node_lease(options.heartbeat * 3),
        stream_lease(options.heartbeat * 3 + options.reconnect_window),
        commands(metrics.counter("mirror_redis_commands_total", "Commands sent to Redis").get()),
        sent(metrics.counter("mirror_redis_sent_bytes_total", "Bytes sent to Redis").get()),
        received(metrics.counter("mirror_redis_received_bytes_total", "Bytes received from Redis").get()),
        errors(metrics.counter("mirror_redis_errors_total", "Failed connections and commands to Redis, by cause",
                               {"cause"})),
        reconnects(metrics.counter("mirror_redis_connects_total", "Connections made to Redis (first and again)").get()),
        claims_lost(metrics.counter("mirror_cluster_claims_lost_total",
                                    "Streams this node stopped because another node holds their name")
                        .get()),
        refused(metrics.counter("mirror_cluster_publishers_refused_total",
                                "Publishers refused because their name is live on another node")
                    .get()),
        bad_records(metrics.counter("mirror_cluster_bad_records_total",
                                    "Values under Mirror's Redis keys or on its channel that were not records")
                        .get()) {
    started_at = SystemClock::now();
    auto& up = metrics.gauge("mirror_redis_up", "1 while this node is connected to Redis");
    up.with_callback({}, [this] {
      std::lock_guard lock(mutex);
      return connected ? 1.0 : 0.0;
    });
    metrics.gauge("mirror_cluster_nodes", "Nodes up in the cluster, as this node sees them")
        .with_callback({}, [this] {
          std::lock_guard lock(mutex);
          return static_cast<double>(node_count_locked());
        });
    metrics.gauge("mirror_cluster_node_id_conflict", "1 while another process holds this node's id")
        .with_callback({}, [this] {
          std::lock_guard lock(mutex);
          return conflict.empty() ? 0.0 : 1.0;
        });
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }

  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  // --- shared state (mutex) ---------------------------------------------
  RedisRegistryOptions options;
  RedisOptions redis_options;
  KeySpace keys;
  const std::string instance;
  const std::chrono::nanoseconds node_lease;
  const std::chrono::nanoseconds stream_lease;
  SystemClock::time_point started_at;

  mutable std::mutex mutex;
  std::map<std::string, StreamRecord> local;   // this node's streams
  std::map<std::string, StreamRecord> remote;  // other nodes' (and earlier processes')
  std::map<std::string, NodeRecord> nodes;     // nodes up, by id (this one included once read back)
  std::deque<Op> ops;
  // A publisher was refused on what the snapshot says: read the cluster
  // again now rather than at the next heartbeat (the holder may be gone).
  bool refresh_soon = false;
  bool connected = false;
  bool stopping = false;
  std::string address;     // the Redis in use
  std::string last_error;  // why it is unreachable
  SteadyClock::time_point down_since{};
  std::string conflict;  // the other process's url when the node id is taken
  NodeLoad load;
  ClaimLost claim_lost;
  EndRequested end_requested;

  // --- metrics -------------------------------------------------------------
  core::Counter& commands;
  core::Counter& sent;
  core::Counter& received;
  core::CounterFamily& errors;
  core::Counter& reconnects;
  core::Counter& claims_lost;
  core::Counter& refused;
  core::Counter& bad_records;
  core::log::LogLimiter bad_log{std::chrono::seconds(10)};
  core::log::LogLimiter down_log{std::chrono::seconds(30)};
  core::log::LogLimiter conflict_log{std::chrono::seconds(30)};

  // --- the thread's own ----------------------------------------------------
  int wake_fd = -1;
  std::thread thread;
  std::unique_ptr<RedisConnection> cmd;
  std::unique_ptr<RedisConnection> sub;
  std::array<std::string, kScripts> shas;
  std::uint64_t counted_sent = 0, counted_received = 0, counted_commands = 0;

  // --- helpers ------------------------------------------------------------

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void queue(Op op) {
    {
      std::lock_guard lock(mutex);
      ops.push_back(std::move(op));
    }
    wake();
  }

  // Nodes up, this one counted once whether or not it was read back yet.
  std::size_t node_count_locked() const { return nodes.size() + (nodes.contains(options.node.id) ? 0 : 1); }

  bool alive_locked(const StreamRecord& r) const {
    const auto it = nodes.find(r.node);
    return it != nodes.end() && it->second.instance == r.instance;
  }

  StreamRecord shown_locked(const StreamRecord& r) const {
    StreamRecord out = r;
    if (!alive_locked(r)) out.status = "reconnecting";
    return out;
  }

  // Books the traffic of a connection since the last call.
  void account(const RedisConnection* c, std::uint64_t& s, std::uint64_t& r, std::uint64_t& n) {
    if (c == nullptr) return;
    sent.inc(c->bytes_sent() - s);
    received.inc(c->bytes_received() - r);
    commands.inc(c->commands() - n);
    s = c->bytes_sent();
    r = c->bytes_received();
    n = c->commands();
  }
  std::uint64_t sub_sent = 0, sub_received = 0, sub_commands = 0;
  void account_all() {
    account(cmd.get(), counted_sent, counted_received, counted_commands);
    account(sub.get(), sub_sent, sub_received, sub_commands);
  }

  core::Result<core::HostPort> target() {
    if (!options.redis.sentinels.empty()) {
      return discover_master(options.redis.sentinels, options.redis.master_name, redis_options);
    }
    auto a = core::parse_host_port(options.redis.addr);
    if (!a) return core::Error(core::ErrorCode::kInvalidInput, "redis.addr is not host:port");
    return *a;
  }

  core::Status connect() {
    auto address_r = target();
    if (!address_r) return address_r.error();
    auto c = RedisConnection::open(*address_r, redis_options);
    if (!c) return c.error();
    if (!options.redis.sentinels.empty()) {
      auto role = (*c)->command({"ROLE"});
      if (!role) return role.error();
      if (role->type != RedisReply::Type::kArray || role->elements.empty() || role->elements[0].str != "master") {
        return core::Error(core::ErrorCode::kServiceUnavailable,
                           "the sentinels named " + where(*address_r) + ", which is not a master (yet)");
      }
    }
    for (std::size_t i = 0; i < kScripts; ++i) {
      auto r = (*c)->command({"SCRIPT", "LOAD", script_text(static_cast<Script>(i))});
      if (!r) return r.error();
      if (!r->is_string()) {
        return core::Error(core::ErrorCode::kServiceUnavailable, "Redis refused a script: " + r->str);
      }
      shas[i] = r->str;
    }
    auto s = RedisConnection::open(*address_r, redis_options);
    if (!s) return s.error();
    (*s)->append({"SUBSCRIBE", keys.events()});
    auto ack = (*s)->reply();
    if (!ack) return ack.error();
    if (ack->type != RedisReply::Type::kArray) {
      return core::Error(core::ErrorCode::kServiceUnavailable, "Redis refused SUBSCRIBE: " + ack->str);
    }
    cmd = std::move(*c);
    sub = std::move(*s);
    counted_sent = counted_received = counted_commands = 0;
    sub_sent = sub_received = sub_commands = 0;
    reconnects.inc();
    std::lock_guard lock(mutex);
    const bool was_down = !last_error.empty();
    connected = true;
    address = where(*address_r);
    last_error.clear();
    core::log::info(was_down ? "Redis reachable again; registering this node and its streams"
                             : "connected to Redis",
                    {{"address", address}, {"node", options.node.id}});
    return core::Ok{};
  }

  void disconnect(const core::Error& why) {
    account_all();
    cmd.reset();
    sub.reset();
    errors.with({"connection"}).inc();
    std::lock_guard lock(mutex);
    if (connected || last_error.empty()) down_since = SteadyClock::now();
    connected = false;
    last_error = why.message;
    down_log.log(core::log::Level::kWarn,
                 "Redis unreachable; serving local streams and admitting publishers on local knowledge",
                 {{"error", why.message}, {"node", options.node.id}});
  }

  std::vector<std::string> eval_argv(Script s, const std::vector<std::string>& keys_,
                                     const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"EVALSHA", shas[static_cast<std::size_t>(s)], std::to_string(keys_.size())};
    argv.insert(argv.end(), keys_.begin(), keys_.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // EVALSHA with the script reloaded once if Redis forgot it (SCRIPT FLUSH).
  core::Result<RedisReply> eval(Script s, const std::vector<std::string>& keys_, const std::vector<std::string>& args) {
    auto argv = eval_argv(s, keys_, args);
    auto r = cmd->command(argv);
    if (r && r->is_error() && r->str.starts_with("NOSCRIPT")) {
      auto loaded = cmd->command({"SCRIPT", "LOAD", script_text(s)});
      if (!loaded) return loaded.error();
      shas[static_cast<std::size_t>(s)] = loaded->str;
      argv[1] = loaded->str;
      r = cmd->command(argv);
    }
    if (r && r->is_error()) {
      errors.with({"reply"}).inc();
      // A failover made this server a replica: find the master again.
      if (r->str.starts_with("READONLY") || r->str.starts_with("LOADING") || r->str.starts_with("MASTERDOWN")) {
        return core::Error(core::ErrorCode::kServiceUnavailable, "Redis: " + r->str);
      }
    }
    return r;
  }

  void note_bad(std::string_view what, std::string_view key, const std::string& why) {
    bad_records.inc();
    bad_log.log(core::log::Level::kWarn, "ignored a value in Redis that is not a Mirror record",
                {{"what", what}, {"key", key.substr(0, 200)}, {"error", why}});
  }

  // The claim script's answer for `name`; false when the connection failed.
  bool settle_claim(const std::string& name, const core::Result<RedisReply>& r, std::vector<std::pair<std::string, StreamRecord>>& lost) {
    if (!r) return false;
    if (r->type != RedisReply::Type::kArray || r->elements.empty() ||
        r->elements[0].type != RedisReply::Type::kInteger) {
      return true;  // an error reply, already counted
    }
    const auto code = r->elements[0].integer;
    if (code == 2) note_bad("stream", keys.stream(name), "replaced by this node's claim");
    if (code != 0) return true;
    StreamRecord owner;
    if (r->elements.size() > 1) {
      if (auto rec = decode_stream(r->elements[1].str, name)) owner = std::move(*rec);
    }
    std::lock_guard lock(mutex);
    if (local.erase(name) == 0) return true;
    claims_lost.inc();
    core::log::error("lost the claim on a stream to another node; stopping it here",
                     {{"stream", name}, {"owner", owner.node}, {"node", options.node.id}});
    if (!owner.name.empty()) remote[name] = owner;
    lost.emplace_back(name, std::move(owner));
    return true;
  }

  std::vector<std::string> claim_args(const StreamRecord& r, const std::string& event) const {
    return {instance, encode_stream(r), ms_text(stream_lease), keys.prefix + "node:", keys.events(), event};
  }

  void fire_lost(std::vector<std::pair<std::string, StreamRecord>>& lost) {
    ClaimLost cb;
    {
      std::lock_guard lock(mutex);
      cb = claim_lost;
    }
    for (auto& [name, owner] : lost) {
      if (cb) cb(name, owner);
    }
    lost.clear();
  }

  // Runs the queued work; false when the connection failed (the rest waits).
  bool run_ops() {
    std::deque<Op> work;
    {
      std::lock_guard lock(mutex);
      work.swap(ops);
    }
    std::vector<std::pair<std::string, StreamRecord>> lost;
    bool ok = true;
    while (!work.empty() && ok) {
      Op op = std::move(work.front());
      work.pop_front();
      core::Result<RedisReply> r = RedisReply{};
      switch (op.kind) {
        case Op::Kind::kSync: {
          StreamRecord rec;
          {
            std::lock_guard lock(mutex);
            const auto it = local.find(op.record.name);
            if (it == local.end()) continue;
            it->second.heartbeat_at = SystemClock::now();
            rec = it->second;
          }
          r = eval(Script::kClaim, {keys.stream(rec.name)}, claim_args(rec, op.event));
          ok = settle_claim(rec.name, r, lost);
          break;
        }
        case Op::Kind::kRelease:
          r = eval(Script::kRelease, {keys.stream(op.record.name)}, {instance, keys.events(), encode_ended(op.record)});
          ok = static_cast<bool>(r);
          break;
        case Op::Kind::kEnd:
          r = cmd->command({"PUBLISH", keys.events(), encode_end_request(op.record)});
          ok = static_cast<bool>(r);
          break;
      }
      if (!ok) {
        // Claims are made again at the next registration; releases must
        // still happen once Redis is back.
        std::lock_guard lock(mutex);
        if (op.kind == Op::Kind::kRelease) ops.push_front(op);
        for (auto& rest : work) {
          if (rest.kind == Op::Kind::kRelease) ops.push_back(std::move(rest));
        }
        disconnect_reason = r ? core::Error(core::ErrorCode::kServiceUnavailable, "Redis failed") : r.error();
      }
    }
    fire_lost(lost);
    return ok;
  }
  core::Error disconnect_reason;

  NodeRecord self_locked() const {
    NodeRecord self;
    self.id = options.node.id;
    self.instance = instance;
    self.url = options.node.url;
    self.version = options.node.version;
    for (const auto& [name, _] : local) self.streams.push_back(name);
    self.load = load;
    self.started_at = started_at;
    self.heartbeat_at = SystemClock::now();
    return self;
  }

  // SCANs keys matching `pattern`; false on a failed connection.
  bool scan(const std::string& pattern, std::vector<std::string>& out) {
    std::string cursor = "0";
    for (int rounds = 0; rounds < 10000; ++rounds) {
      auto r = cmd->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "500"});
      if (!r) {
        disconnect_reason = r.error();
        return false;
      }
      if (r->type != RedisReply::Type::kArray || r->elements.size() != 2) return true;
      cursor = r->elements[0].str;
      for (const auto& k : r->elements[1].elements) {
        if (k.is_string()) out.push_back(k.str);
      }
      if (cursor == "0") break;
    }
    return true;
  }

  // Reads every value under `found` with the guarded read script, 200 keys a
  // call, as (key, value, pttl); false on a failed connection.
  bool read_values(const std::vector<std::string>& found,
                   std::vector<std::tuple<std::string, std::string, std::int64_t>>& out) {
    for (std::size_t at = 0; at < found.size(); at += 200) {
      std::vector<std::string> batch(found.begin() + static_cast<std::ptrdiff_t>(at),
                                     found.begin() + static_cast<std::ptrdiff_t>(std::min(found.size(), at + 200)));
      auto r = eval(Script::kRead, batch, {});
      if (!r) {
        disconnect_reason = r.error();
        return false;
      }
      if (r->type != RedisReply::Type::kArray) continue;
      for (std::size_t i = 0; i < batch.size() && 2 * i + 1 < r->elements.size(); ++i) {
        const auto& v = r->elements[2 * i];
        if (v.is_nil()) continue;
        out.emplace_back(batch[i], v.str, r->elements[2 * i + 1].integer);
      }
    }
    return true;
  }

  // One heartbeat: the node's lease, every claim, and a fresh read of the
  // cluster. False when the connection failed.
  bool heartbeat() {
    if (options.node.load) {
      const NodeLoad sample = options.node.load();
      std::lock_guard lock(mutex);
      load = sample;
    }
    NodeRecord self;
    std::vector<StreamRecord> mine;
    {
      std::lock_guard lock(mutex);
      self = self_locked();
      for (auto& [_, r] : local) {
        r.heartbeat_at = self.heartbeat_at;
        mine.push_back(r);
      }
    }
    auto reg = eval(Script::kNode, {keys.node(self.id)}, {instance, encode_node(self), ms_text(node_lease)});
    if (!reg) {
      disconnect_reason = reg.error();
      return false;
    }
    if (reg->type == RedisReply::Type::kArray && !reg->elements.empty()) {
      const auto code = reg->elements[0].integer;
      if (code == 2) note_bad("node", keys.node(self.id), "replaced by this node's record");
      std::string other;
      if (code == 0 && reg->elements.size() > 1) {
        auto rec = decode_node(reg->elements[1].str, self.id);
        other = rec ? (rec->url.empty() ? "instance " + rec->instance : rec->url) : "an unreadable record";
      }
      std::lock_guard lock(mutex);
      if (code == 0) {
        if (conflict.empty()) conflict = other;
        conflict_log.log(core::log::Level::kError,
                         "another process holds this node id in Redis; give each node its own cluster.node_id",
                         {{"node", self.id}, {"other", other}});
      } else if (!conflict.empty()) {
        core::log::info("node id free again; this node is registered", {{"node", self.id}});
        conflict.clear();
      }
    }

    // Every claim, pipelined: one round trip for all of them.
    for (const auto& r : mine) cmd->append(eval_argv(Script::kClaim, {keys.stream(r.name)}, claim_args(r, "")));
    std::vector<std::pair<std::string, StreamRecord>> lost;
    for (const auto& r : mine) {
      auto reply = cmd->reply();
      if (!reply) {
        disconnect_reason = reply.error();
        return false;
      }
      if (reply->is_error()) {
        errors.with({"reply"}).inc();
        if (reply->str.starts_with("READONLY")) {
          disconnect_reason = core::Error(core::ErrorCode::kServiceUnavailable, "Redis: " + reply->str);
          return false;
        }
        // NOSCRIPT and the like: claim this one again alone.
        if (!settle_claim(r.name, eval(Script::kClaim, {keys.stream(r.name)}, claim_args(r, "")), lost)) return false;
        continue;
      }
      settle_claim(r.name, reply, lost);
    }
    fire_lost(lost);
    return refresh();
  }

  bool refresh() {
    std::vector<std::string> stream_keys, node_keys;
    if (!scan(keys.stream_pattern(), stream_keys) || !scan(keys.node_pattern(), node_keys)) return false;
    std::vector<std::tuple<std::string, std::string, std::int64_t>> stream_values, node_values;
    if (!read_values(stream_keys, stream_values) || !read_values(node_keys, node_values)) return false;

    std::map<std::string, NodeRecord> fresh_nodes;
    for (const auto& [key, value, pttl] : node_values) {
      const auto id = keys.node_of(key);
      if (id.empty()) {
        note_bad("node", key, "not a node id");
        continue;
      }
      auto rec = decode_node(value, id);
      if (!rec) {
        note_bad("node", key, rec.error().message);
        continue;
      }
      if (pttl <= 0) continue;  // nobody renews it: not a node that is up
      fresh_nodes[id] = std::move(*rec);
    }
    std::map<std::string, StreamRecord> fresh_streams;
    for (const auto& [key, value, pttl] : stream_values) {
      const auto name = keys.stream_of(key);
      if (name.empty()) {
        note_bad("stream", key, "not a stream name");
        continue;
      }
      auto rec = decode_stream(value, name);
      if (!rec) {
        note_bad("stream", key, rec.error().message);
        continue;
      }
      if (rec->instance == instance) continue;  // ours: `local` is the truth
      fresh_streams[name] = std::move(*rec);
    }
    std::lock_guard lock(mutex);
    nodes = std::move(fresh_nodes);
    remote = std::move(fresh_streams);
    return true;
  }

  void handle_pushed(const RedisReply& m) {
    if (m.type != RedisReply::Type::kArray || m.elements.size() != 3 || m.elements[0].str != "message") return;
    auto ev = decode_event(m.elements[2].str);
    if (!ev) {
      note_bad("event", keys.events(), ev.error().message);
      return;
    }
    EndRequested cb;
    {
      std::lock_guard lock(mutex);
      switch (ev->kind) {
        case ClusterEvent::Kind::kAdded:
        case ClusterEvent::Kind::kChanged:
          if (ev->stream.instance != instance) remote[ev->stream.name] = ev->stream;
          break;
        case ClusterEvent::Kind::kEnded: {
          const auto it = remote.find(ev->stream.name);
          if (it != remote.end() && it->second.instance == ev->stream.instance) remote.erase(it);
          break;
        }
        case ClusterEvent::Kind::kEndRequest:
          if (ev->stream.node == options.node.id && ev->stream.instance == instance &&
              local.contains(ev->stream.name)) {
            cb = end_requested;
          }
          break;
      }
    }
    if (cb) {
      core::log::info("another node asked to end a stream of this node", {{"stream", ev->stream.name}});
      cb(ev->stream.name);
    }
  }

  bool stopping_now() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  void drain_wake() {
    std::uint64_t n = 0;
    while (::read(wake_fd, &n, sizeof n) > 0) {
    }
  }

  void run() {
    auto backoff = std::chrono::nanoseconds(100ms);
    const auto max_backoff = std::min<std::chrono::nanoseconds>(options.heartbeat, 2s);
    auto next_beat = SteadyClock::now();
    auto last_soon = SteadyClock::time_point{};
    while (!stopping_now()) {
      if (!cmd) {
        auto st = connect();
        if (!st) {
          disconnect(st.error());
          pollfd p{wake_fd, POLLIN, 0};
          ::poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count()));
          drain_wake();
          backoff = std::min(backoff * 2, max_backoff);
          continue;
        }
        backoff = 100ms;
        next_beat = SteadyClock::now();
      }
      const auto now = SteadyClock::now();
      const auto wait_ms =
          next_beat > now ? std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - now).count() + 1 : 0;
      pollfd fds[2] = {{wake_fd, POLLIN, 0}, {sub->fd(), POLLIN, 0}};
      ::poll(fds, 2, static_cast<int>(wait_ms));
      if ((fds[0].revents & POLLIN) != 0) drain_wake();
      bool ok = true;
      if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        auto st = sub->read_available();
        if (!st) {
          disconnect_reason = st.error();
          ok = false;
        }
        while (ok) {
          auto m = sub->next_pushed();
          if (!m) break;
          handle_pushed(*m);
        }
      }
      if (ok) ok = run_ops();
      bool refresh_now = false;
      {
        std::lock_guard lock(mutex);
        std::swap(refresh_now, refresh_soon);
      }
      // At most four of these a second, whatever refused publishers do.
      if (ok && refresh_now && SteadyClock::now() < next_beat && SteadyClock::now() - last_soon >= 250ms) {
        last_soon = SteadyClock::now();
        ok = refresh();
      }
      if (ok && SteadyClock::now() >= next_beat) {
        ok = heartbeat();
        next_beat = SteadyClock::now() + options.heartbeat;
      }
      account_all();
      if (!ok) disconnect(disconnect_reason);
    }
    // Leaving: the releases queued by streams that ended, then the node.
    if (cmd) {
      if (run_ops()) {
        std::vector<StreamRecord> mine;
        {
          std::lock_guard lock(mutex);
          for (const auto& [_, r] : local) mine.push_back(r);
        }
        for (const auto& r : mine) {
          if (!eval(Script::kRelease, {keys.stream(r.name)}, {instance, keys.events(), encode_ended(r)})) break;
        }
        (void)eval(Script::kRelease, {keys.node(options.node.id)}, {instance, keys.events(), ""});
      }
      account_all();
    }
    cmd.reset();
    sub.reset();
  }
};

RedisStreamRegistry::RedisStreamRegistry(RedisRegistryOptions options, core::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

RedisStreamRegistry::~RedisStreamRegistry() { stop(SteadyClock::now()); }

const std::string& RedisStreamRegistry::node_id() const { return impl_->options.node.id; }

core::Status RedisStreamRegistry::check(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->connected) return core::Ok{};  // local knowledge only
  const auto it = impl_->remote.find(name);
  if (it == impl_->remote.end() || !impl_->alive_locked(it->second)) return core::Ok{};
  impl_->refused.inc();
  if (!impl_->refresh_soon) {
    impl_->refresh_soon = true;
    impl_->wake();
  }
  return core::Error(core::ErrorCode::kAlreadyExists, "stream is live on another node",
                     {{"name", name}, {"node", it->second.node}});
}

core::Status RedisStreamRegistry::claim(StreamRecord record) {
  if (auto st = check(record.name); !st) return st;
  const auto now = SystemClock::now();
  record.node = impl_->options.node.id;
  record.instance = impl_->instance;
  if (record.started_at == SystemClock::time_point{}) record.started_at = now;
  record.heartbeat_at = now;
  const std::string name = record.name;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->remote.erase(name);
    impl_->local[name] = std::move(record);
  }
  impl_->queue(Op{Op::Kind::kSync, StreamRecord{.name = name}, "added"});
  return core::Ok{};
}

core::Status RedisStreamRegistry::update(const std::string& name, const std::string& status) {
  {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->local.find(name);
    if (it == impl_->local.end()) {
      return core::Error(core::ErrorCode::kNotFound, "stream not registered", {{"name", name}});
    }
    it->second.status = status;
    it->second.heartbeat_at = SystemClock::now();
  }
  impl_->queue(Op{Op::Kind::kSync, StreamRecord{.name = name}, "changed"});
  return core::Ok{};
}

core::Status RedisStreamRegistry::release(const std::string& name) {
  StreamRecord held;
  {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->local.find(name);
    if (it == impl_->local.end()) {
      return core::Error(core::ErrorCode::kNotFound, "stream not registered", {{"name", name}});
    }
    held = std::move(it->second);
    impl_->local.erase(it);
  }
  impl_->queue(Op{Op::Kind::kRelease, std::move(held), {}});
  return core::Ok{};
}

std::optional<StreamRecord> RedisStreamRegistry::find(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  if (const auto it = impl_->local.find(name); it != impl_->local.end()) return it->second;
  if (const auto it = impl_->remote.find(name); it != impl_->remote.end()) return impl_->shown_locked(it->second);
  return std::nullopt;
}

std::vector<StreamRecord> RedisStreamRegistry::list() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<StreamRecord> out;
  out.reserve(impl_->local.size() + impl_->remote.size());
  for (const auto& [_, r] : impl_->local) out.push_back(r);
  for (const auto& [name, r] : impl_->remote) {
    if (!impl_->local.contains(name)) out.push_back(impl_->shown_locked(r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::vector<NodeRecord> RedisStreamRegistry::nodes() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<NodeRecord> out{impl_->self_locked()};
  for (const auto& [id, n] : impl_->nodes) {
    if (n.instance != impl_->instance) out.push_back(n);
  }
  return out;
}

core::Status RedisStreamRegistry::request_end(const std::string& name) {
  StreamRecord owner;
  {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->remote.find(name);
    if (it == impl_->remote.end() || impl_->local.contains(name)) {
      return core::Error(core::ErrorCode::kNotFound, "no such stream", {{"name", name}});
    }
    if (!impl_->connected) {
      return core::Error(core::ErrorCode::kServiceUnavailable, "Redis is unreachable; the owner cannot be asked",
                         {{"name", name}, {"node", it->second.node}});
    }
    owner = it->second;
  }
  impl_->queue(Op{Op::Kind::kEnd, std::move(owner), {}});
  return core::Ok{};
}

void RedisStreamRegistry::on_claim_lost(ClaimLost callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->claim_lost = std::move(callback);
}

void RedisStreamRegistry::on_end_requested(EndRequested callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->end_requested = std::move(callback);
}

core::Status RedisStreamRegistry::start() {
  if (impl_->wake_fd < 0) return core::Error(core::ErrorCode::kInternal, "state: eventfd failed");
  if (auto st = impl_->connect(); !st) {
    if (st.error().code == core::ErrorCode::kUnauthorized) return st.error();
    impl_->disconnect(st.error());
  } else if (!impl_->heartbeat()) {
    impl_->disconnect(impl_->disconnect_reason);
  }
  impl_->account_all();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = false;
  }
  impl_->thread = std::thread([this] { impl_->run(); });
  return core::Ok{};
}

void RedisStreamRegistry::stop(core::Deadline) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake();
  if (impl_->thread.joinable()) impl_->thread.join();
}

core::Health RedisStreamRegistry::health() const {
  std::lock_guard lock(impl_->mutex);
  core::Health h;
  const auto& i = *impl_;
  h.details = {{"backend", "redis"},
               {"node", i.options.node.id},
               {"redis", i.address},
               {"connected", i.connected},
               {"nodes", i.node_count_locked()},
               {"local_streams", i.local.size()},
               {"remote_streams", i.remote.size()}};
  if (!i.connected) {
    const auto down = std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - i.down_since).count();
    h.status = core::HealthStatus::kDegraded;
    h.message = "Redis unreachable for " + std::to_string(down) + " s (" + i.last_error +
                "); serving local streams, admitting publishers on local knowledge";
  } else if (!i.conflict.empty()) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "node id \"" + i.options.node.id + "\" is held by another process (" + i.conflict +
                "); give each node its own cluster.node_id";
  } else {
    h.message = "Redis at " + i.address + ", " + std::to_string(h.details["nodes"].get<std::size_t>()) + " node(s)";
  }
  return h;
}

}  // namespace mirror::state::redis
