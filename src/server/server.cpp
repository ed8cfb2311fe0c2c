#include "server/server.h"

#include "api/admin_access.h"
#include "api/admin_routes.h"
#include "api/admin_session.h"
#include "api/dvr_routes.h"
#include "api/event_stream.h"
#include "api/playback_access.h"
#include "api/playback_routes.h"
#include "api/site_routes.h"
#include "server/event_service.h"
#include "server/packaging_service.h"
#include "server/transcoding_service.h"
#include "api/thumbnail_routes.h"
#include "api/stream_routes.h"
#include "ingest/ingest_service.h"
#include "core/logging.h"
#include "core/names.h"
#include "core/process_metrics.h"
#include "net/io_pool.h"
#include "http/middleware.h"
#include "http/tls_certificate.h"
#include "http/tls/tls_context.h"
#include "http/tls/tls_server.h"
#include "server/http_service.h"
#include "state/memory_registry.h"
#include "state/redis/redis_registry.h"
#include "relay/relay_service.h"
#include "storage/storage_service.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <thread>

namespace mirror::server {
namespace {

// Dashboards open at once (GET /api/v1/events).
constexpr std::size_t kMaxEventClients = 2000;

}  // namespace

Server::Server(core::Config config, core::BuildInfo build)
    : config_(std::move(config)), build_(build) {
  register_server_metrics();
  build_services();
}

Server::~Server() { stop(); }

void Server::register_server_metrics() {
  core::register_process_metrics(metrics_);
  metrics_
      .gauge("mirror_build_info", "Version, git commit and build time of the running binary",
             {"version", "git_commit", "build_time"})
      .with({std::string(build_.version), std::string(build_.git_commit),
             std::string(build_.build_time)})
      .set(1);
}

std::unique_ptr<HttpService> Server::make_http_service(const std::string& name, int port,
                                                      core::log::Level access_log_level,
                                                      const std::string& bind_address) {
  http::H1ServerOptions opts;
  opts.name = name;
  opts.port = port;
  opts.bind_address = bind_address;
  opts.max_connections = config_.server.max_connections;
  opts.budget = connection_budget_;
  opts.read_timeout = config_.server.read_timeout;
  opts.write_timeout = config_.server.write_timeout;
  auto service = std::make_unique<HttpService>(name + "_http", *io_pool_, opts, metrics_);
  auto& p = service->pipeline();
  p.use(http::request_id_filter());
  p.use(http::access_log_filter(name, access_log_level));
  p.use(http::route_metrics_filter(metrics_, name));
  return service;
}

// HTTPS for players on server.http3_port: HTTP/2 and HTTP/1.1 over TLS,
// with the limits of the plain listener.
http::TlsServerOptions Server::delivery_tls_options() const {
  http::TlsServerOptions o;
  o.listener.name = "delivery_tls";
  o.listener.port = config_.server.http3_port;
  o.listener.max_connections = config_.server.max_connections;
  o.listener.budget = connection_budget_;
  o.h1.read_timeout = config_.server.read_timeout;
  o.h1.write_timeout = config_.server.write_timeout;
  o.h2.max_concurrent_streams = static_cast<std::uint32_t>(config_.server.http2.max_concurrent_streams);
  o.h2.idle_timeout = config_.server.read_timeout;
  o.h2.write_timeout = config_.server.write_timeout;
  o.handshake_timeout = std::min<std::chrono::nanoseconds>(config_.server.read_timeout, std::chrono::seconds(10));
  return o;
}

// HTTP/3 on UDP server.http3_port, with the seed's QUIC settings
// (server.quic) and the same connection budget as the TCP listeners.
http::H3ServerOptions Server::delivery_h3_options() const {
  const core::QuicConfig& q = config_.server.quic;
  http::H3ServerOptions o;
  o.name = "delivery_h3";
  o.port = config_.server.http3_port;
  o.max_connections = config_.server.max_connections;
  o.budget = connection_budget_;
  o.quic.idle_timeout = q.idle_timeout;
  o.quic.max_streams_bidi = static_cast<std::uint64_t>(q.max_bidi_streams);
  o.quic.max_streams_uni = static_cast<std::uint64_t>(q.max_uni_streams);
  o.quic.bbr = q.congestion_control == "bbr";
  o.quic.write_timeout = config_.server.write_timeout;
  o.quic.handshake_timeout = std::min<std::chrono::nanoseconds>(config_.server.read_timeout, std::chrono::seconds(10));
  o.retry = q.retry == "always"  ? http::H3ServerOptions::Retry::kAlways
            : q.retry == "never" ? http::H3ServerOptions::Retry::kNever
                                 : http::H3ServerOptions::Retry::kAuto;
  return o;
}

void Server::build_services() {
  io_pool_ = std::make_unique<net::IoPool>();
  // Every listener draws from one budget (server.max_connections counts
  // them all), with a cap per client address.
  connection_budget_ = std::make_shared<http::ConnectionBudget>(config_.server.max_connections,
                                                                config_.server.max_connections_per_ip);

  auto storage = std::make_unique<storage::StorageService>(config_.storage, metrics_);
  storage::StorageService* storage_view = storage.get();
  services_.add(std::move(storage));
  // The stream registry: in process, or shared through Redis when
  // redis.addr or redis.sentinels is set.
  state::StreamRegistry* registry_view = nullptr;
  if (config_.redis.addr.empty() && config_.redis.sentinels.empty()) {
    auto registry = std::make_unique<state::MemoryStreamRegistry>(
        node_identity(), std::chrono::duration_cast<std::chrono::nanoseconds>(config_.ingestion.reconnect_delay * 6));
    registry_view = registry.get();
    services_.add(std::move(registry));
  } else {
    state::redis::RedisRegistryOptions options;
    options.redis = config_.redis;
    options.node = node_identity();
    options.heartbeat = config_.cluster.heartbeat;
    options.reconnect_window = config_.ingestion.reconnect_delay;
    auto registry = std::make_unique<state::redis::RedisStreamRegistry>(std::move(options), metrics_);
    registry_view = registry.get();
    services_.add(std::move(registry));
  }
  auto ingest = std::make_unique<ingest::IngestService>(config_.ingestion, registry_view, metrics_);
  ingest::IngestService* ingest_view = ingest.get();
  // Cluster decisions reach the stream table from the registry's thread.
  ingest::StreamTable* table = &ingest_view->streams();
  registry_view->on_claim_lost([table](const std::string& name, const state::StreamRecord&) {
    (void)table->end_stream(name);
  });
  registry_view->on_end_requested([table](const std::string& name) { (void)table->end_stream(name); });

  // Packaging and transcoding start before ingest (so that they see every
  // stream from its first frame) and stop after it (so that every stream's
  // last frames are transcoded and packaged).
  package::hls::PackagerSettings packaging;
  packaging.part_duration = config_.packaging.part_duration;
  packaging.segment_length = config_.storage.dvr.segment_length;
  packaging.max_segment_duration = config_.packaging.max_segment_duration;
  packaging.discontinuity_threshold = config_.packaging.discontinuity_threshold;
  packaging.playlist_segments = config_.packaging.playlist_segments;
  auto packager = std::make_unique<PackagingService>(packaging, ingest_view->streams(), metrics_,
                                                     std::chrono::seconds{60}, storage_view);
  PackagingService* packager_view = packager.get();
  services_.add(std::move(packager));

  // Streams of other nodes, pulled here for this node's viewers.
  relay::RelaySettings relaying;
  relaying.window_segments = config_.packaging.playlist_segments;
  relaying.max_relays = static_cast<std::size_t>(std::max(100, config_.ingestion.max_streams * 4));
  if (!config_.server.playback_secret.empty()) {
    relaying.query = [secret = config_.server.playback_secret](const std::string& stream) {
      return "token=" + api::mint_playback_token(secret, stream, std::chrono::system_clock::now() + std::chrono::minutes(5));
    };
  }
  auto relays = std::make_unique<relay::RelayService>(std::move(relaying), *registry_view, metrics_);
  relay::RelayService* relay_view = relays.get();
  services_.add(std::move(relays));
  // A stream of this node, else another node's through a relay.
  auto find_presentation = [packager_view, relay_view](const std::string& name) {
    auto local = packager_view->find(name);
    return local ? local : relay_view->find(name);
  };

  auto transcoder = std::make_unique<TranscodingService>(
      config_.transcoding, packaging.effective_max_segment_duration(), ingest_view->streams(), metrics_,
      [packager_view](const std::shared_ptr<ingest::LiveStream>& stream, std::vector<RenditionFeed> feeds) {
        packager_view->add_renditions(stream, std::move(feeds));
      });
  TranscodingService* transcoder_view = transcoder.get();
  services_.add(std::move(transcoder));
  services_.add(std::move(ingest));

  api::ThumbnailSource thumbnails;
  if (config_.transcoding.enabled) {
    thumbnails = [transcoder_view](const std::string& name, api::ThumbnailReply reply) {
      transcoder_view->thumbnail(name, std::move(reply));
    };
  }

  // Delivery: players' HTTP on server.http_port. Players fetch several parts a
  // second: per-request lines only at debug level.
  auto delivery = make_http_service("delivery", config_.server.http_port, core::log::Level::kDebug);
  auto& d = delivery->pipeline();
  // Players on other origins read the streams (server.cors_origins).
  d.use(http::cors_filter(config_.server.cors_origins));
  // Signed playback URLs, when server.playback_secret is set.
  d.use(api::playback_access_filter(config_.server.playback_secret, metrics_));
  // HTTPS answers point browsers at HTTP/3 on the same port number.
  d.use(http::alt_svc_filter([service = delivery.get()] { return service->h3_port(); }));
  api::DvrContext dvr;
  dvr.storage = storage_view;
  dvr.find = [packager_view](const std::string& name) { return packager_view->find(name); };
  dvr.signed_urls = !config_.server.playback_secret.empty();
  dvr.forward = [relay_view](const std::string& stream, std::string target, bool media, api::DvrContext::ForwardReply reply,
                             bool* busy) { return relay_view->forward_dvr(stream, std::move(target), media, std::move(reply), busy); };
  dvr.relayed = [relay_view](const std::string& stream) { return relay_view->running(stream); };
  // Before the live routes: /streams/NAME/dvr/... is never a rendition.
  api::register_dvr_routes(d.router(), dvr);
  api::PlaybackContext playback;
  playback.find = find_presentation;
  playback.cluster = [registry_view] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : registry_view->list()) {
      if (r.node != registry_view->node_id()) out.emplace_back(r.name, r.status);
    }
    return out;
  };
  playback.list = [packager_view] { return packager_view->list(); };
  playback.thumbnail = thumbnails;
  playback.signed_urls = !config_.server.playback_secret.empty();
  playback.recorded = [storage_view](const std::string& stream, const std::string& rendition, std::int64_t session,
                                     std::int64_t msn, api::PlaybackContext::RecordedReply reply) {
    const storage::SegmentKey key{stream, rendition, session, msn};
    return storage_view->read(
        [storage_view, key, reply = std::move(reply)](storage::SegmentIndex* index) {
          reply(storage_view->read_segment(index, key));
        });
  };
  api::register_playback_routes(d.router(), std::move(playback));
  api::register_site_routes(d.router(), "delivery");
  delivery_ = delivery.get();
  services_.add(std::move(delivery));

  auto admin = make_http_service("admin", config_.server.admin_port, core::log::Level::kInfo,
                                 config_.server.admin_bind);
  auto& p = admin->pipeline();
  api::AdminAccess access;
  access.token = config_.server.admin_token;
  access.protect_probes = config_.server.admin_auth_all;
  access.probe_paths = {config_.monitoring.health_check_path, "/ready", config_.monitoring.metrics_path};
  auto sessions = std::make_shared<api::SessionStore>(config_.server.session_ttl);
  auto limiter = std::make_shared<api::SignInLimiter>();
  access.sessions = sessions;
  access.limiter = limiter;
  p.use(api::admin_access_filter(std::move(access)));
  api::register_session_routes(p.router(), sessions, limiter, config_.server.admin_token);
  api::AdminContext ctx;
  ctx.build = build_;
  ctx.metrics = &metrics_;
  ctx.health = [this] { return health(); };
  ctx.ready = [this] { return ready(); };
  ctx.metrics_path = config_.monitoring.metrics_path;
  ctx.health_path = config_.monitoring.health_check_path;
  api::register_admin_routes(p.router(), std::move(ctx));
  api::StreamDetails details = [transcoder_view, packager_view](const std::string& name, nlohmann::json& out) {
    if (auto presentation = packager_view->find(name)) {
      out["playback"] = {{"url", "/streams/" + name + "/index.m3u8"},
                         {"player", "/?stream=" + name}};
    }
    if (auto transcode = transcoder_view->stream_json(name)) {
      out["playback"]["multiview_url"] = "/streams/" + name + "/multiview.m3u8";
      out["playback"]["thumbnail_url"] = "/streams/" + name + "/thumbnail.jpg";
      out["transcode"] = std::move(*transcode);
    }
  };
  EventService::Sources event_sources;
  event_sources.streams = &ingest_view->streams();
  event_sources.details = details;
  event_sources.server = server_figures();
  event_sources.node = registry_view->node_id();
  event_sources.cluster = [registry_view] {
    std::vector<nlohmann::json> out;
    for (const auto& r : registry_view->list()) {
      if (r.node == registry_view->node_id()) continue;
      out.push_back({{"name", r.name},
                     {"state", r.status},
                     {"protocol", r.protocol},
                     {"started_at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           r.started_at.time_since_epoch()).count()},
                     {"node", r.node},
                     {"remote", true},
                     {"playback", {{"url", "/streams/" + r.name + "/index.m3u8"}, {"player", "/?stream=" + r.name}}}});
    }
    return out;
  };
  auto events = std::make_unique<EventService>(std::move(event_sources), kMaxEventClients);
  api::register_stream_routes(p.router(), *ingest_view, *registry_view, std::move(details));
  api::register_recordings_route(p.router(), dvr);
  api::register_token_route(p.router(), config_.server.playback_secret);
  if (thumbnails) {
    api::register_thumbnail_route(p.router(), "/api/v1/streams/{name}/thumbnail.jpg", thumbnails, "no-cache");
  }
  api::register_event_route(p.router(), "/api/v1/events", events->hub());
  api::register_event_route(delivery_->pipeline().router(), "/streams/events", events->wall_hub());
  api::register_site_routes(p.router(), "admin");
  admin_ = admin.get();
  services_.add(std::move(admin));
  // Last: it stops first and ends its event streams, which the admin
  // server's drain would otherwise wait for.
  services_.add(std::move(events));

  auto& up = metrics_.gauge("mirror_service_up",
                            "1 when the service has started and is not unhealthy", {"service"});
  for (const auto& s : services_.services()) {
    core::Service* svc = s.get();
    up.with_callback({std::string(svc->name())}, [this, svc] {
      return services_.is_started(svc) && svc->health().status != core::HealthStatus::kUnhealthy
                 ? 1.0
                 : 0.0;
    });
  }
}

core::Status Server::start() {
  const auto t0 = std::chrono::steady_clock::now();
  auto tls = http::ensure_tls_identity(config_.server.tls_cert_file, config_.server.tls_key_file,
                                       config_.server.data_dir);
  if (!tls) return tls.error();
  core::log::info(tls->generated ? "using self-signed TLS certificate" : "using TLS certificate",
                  {{"cert", tls->cert_file}, {"spki_sha256", tls->spki_sha256}});
  auto tls_context = http::TlsContext::load(tls->cert_file, tls->key_file);
  if (!tls_context) return tls_context.error();
  tls_context_ = *tls_context;
  delivery_->enable_tls(delivery_tls_options(), tls_context_);
  if (config_.server.quic.enabled) {
    auto quic_tls = http::QuicTlsContext::load(tls->cert_file, tls->key_file);
    if (!quic_tls) return quic_tls.error();
    quic_tls_context_ = *quic_tls;
    delivery_->enable_h3(delivery_h3_options(), quic_tls_context_);
  }

  io_pool_->start();
  if (auto st = services_.start(); !st) {
    io_pool_->stop();
    return st;
  }
  ready_.store(true, std::memory_order_release);
  if (config_.server.admin_token.empty()) {
    core::log::info("admin API without a token: listening on loopback only",
                    {{"admin_bind", config_.server.admin_bind},
                     {"hint", "set server.admin_token (MIRROR_SERVER_ADMIN_TOKEN) to open it to a network"}});
  }
  core::log::info("mirror ready",
                  {{"admin_port", admin_port()},
                   {"admin_bind", config_.server.admin_bind},
                   {"admin_auth", !config_.server.admin_token.empty()},
                   {"http_port", http_port()},
                   {"https_port", https_port()},
                   {"h3_port", h3_port()},
                   {"startup_ms",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count()}});
  return core::Ok{};
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_.store(false, std::memory_order_release);
  services_.stop(std::chrono::steady_clock::now() + config_.server.shutdown_timeout);
  if (io_pool_) io_pool_->stop();
}

int Server::admin_port() const { return admin_ != nullptr ? admin_->port() : 0; }
int Server::http_port() const { return delivery_ != nullptr ? delivery_->port() : 0; }

int Server::https_port() const { return delivery_ != nullptr ? delivery_->tls_port() : 0; }
int Server::h3_port() const { return delivery_ != nullptr ? delivery_->h3_port() : 0; }

core::Status Server::reload_tls() {
  if (!tls_context_) return core::Error(core::ErrorCode::kServiceUnavailable, "TLS is not serving yet");
  if (config_.server.tls_cert_file.empty()) return core::Ok{};  // the self-signed one does not change
  if (auto st = tls_context_->reload(); !st) return st;
  if (quic_tls_context_) return quic_tls_context_->reload();
  return core::Ok{};
}

// Who this node is to the others: cluster.node_id (or the hostname and the
// delivery port), cluster.advertise_url (or http://hostname:port), and its
// load, sampled at each heartbeat on the registry's thread.
state::NodeIdentity Server::node_identity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "localhost");
  std::string hostname;
  for (const char* c = host; *c != '\0'; ++c) {
    hostname.push_back(core::is_valid_node_id(std::string_view(c, 1)) ? *c : '-');
  }
  const std::string port = std::to_string(config_.server.http_port);
  state::NodeIdentity node;
  node.id = !config_.cluster.node_id.empty() ? config_.cluster.node_id : hostname.substr(0, 100) + ":" + port;
  node.url = !config_.cluster.advertise_url.empty() ? config_.cluster.advertise_url : "http://" + hostname + ":" + port;
  node.version = std::string(build_.version);
  struct Sample {
    double cpu_seconds = core::read_process_stats().cpu_seconds;
    double body_bytes = 0;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
  };
  auto last = std::make_shared<Sample>();
  node.load = [this, last] {
    auto& bytes = metrics_.counter("mirror_http_response_body_bytes_total", "", {"server"}).with({"delivery"});
    auto& open = metrics_.gauge("mirror_http_open_connections", "Open HTTP connections", {"server"});
    const double cpu = core::read_process_stats().cpu_seconds;
    const double sent = bytes.value();
    const auto now = std::chrono::steady_clock::now();
    const double wall = std::chrono::duration<double>(now - last->at).count();
    state::NodeLoad load;
    if (wall > 0) {
      load.cpu_percent = std::max(0.0, 100.0 * (cpu - last->cpu_seconds) / wall);
      load.egress_bps = std::max(0.0, 8.0 * (sent - last->body_bytes) / wall);
    }
    if (!std::isfinite(load.cpu_percent)) load.cpu_percent = 0;
    load.viewers = static_cast<std::int64_t>(open.with({"delivery"}).value() + open.with({"delivery_tls"}).value() +
                                             open.with({"delivery_h3"}).value());
    *last = Sample{cpu, sent, now};
    return load;
  };
  return node;
}

std::function<nlohmann::json()> Server::server_figures() {
  // CPU is the share of one core used since the last reading.
  struct Cpu {
    double seconds = 0;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
  };
  auto cpu = std::make_shared<Cpu>();
  cpu->seconds = core::read_process_stats().cpu_seconds;
  const auto started = std::chrono::steady_clock::now();
  return [this, cpu, started] {
    const auto stats = core::read_process_stats();
    const auto now = std::chrono::steady_clock::now();
    const double wall = std::chrono::duration<double>(now - cpu->at).count();
    const double cpu_percent = wall > 0 ? 100.0 * (stats.cpu_seconds - cpu->seconds) / wall : 0.0;
    cpu->seconds = stats.cpu_seconds;
    cpu->at = now;
    auto open = [this](const char* server) {
      return metrics_.gauge("mirror_http_open_connections", "Open HTTP connections", {"server"})
          .with({server})
          .value();
    };
    nlohmann::json services = nlohmann::json::object();
    for (const auto& [name, h] : health()) {
      services[name] = {{"status", core::health_status_name(h.status)}, {"message", h.message}};
    }
    return nlohmann::json{
        {"version", build_.version},
        {"git_commit", build_.git_commit},
        {"uptime_s", std::chrono::duration<double>(now - started).count()},
        {"cpu_percent", std::isfinite(cpu_percent) ? cpu_percent : 0.0},
        {"cores", std::thread::hardware_concurrency()},
        {"memory_bytes", std::isfinite(stats.resident_memory_bytes) ? stats.resident_memory_bytes : 0.0},
        {"connections", connection_budget_ ? connection_budget_->open() : 0},
        {"viewers", {{"http1", open("delivery")}, {"https", open("delivery_tls")}, {"http3", open("delivery_h3")}}},
        // Where players and publishers go, for the dashboard's links.
        {"ports", {{"http", http_port()}, {"https", https_port()}, {"h3", h3_port()},
                   {"srt", config_.ingestion.srt.enabled ? config_.ingestion.srt.port : 0},
                   {"rtp", config_.ingestion.rtp.enabled ? config_.ingestion.rtp.port : 0}}},
        {"srt_encrypted", !config_.ingestion.srt.passphrase.empty()},
        {"playback_signed", !config_.server.playback_secret.empty()},
        {"services", std::move(services)}};
  };
}

std::vector<std::pair<std::string, std::string>> Server::admin_routes() const {
  return admin_ != nullptr ? admin_->pipeline().router().routes() : std::vector<std::pair<std::string, std::string>>{};
}

std::vector<std::pair<std::string, core::Health>> Server::health() const {
  return services_.health();
}

}  // namespace mirror::server
