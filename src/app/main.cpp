// The mirror command: serves by default; `mirror version` and
// `mirror config check` are the other commands.
#include "core/build_info.h"
#include "core/config.h"
#include "core/logging.h"
#include "server/server.h"
#include "server/signals.h"

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace {

using namespace mirror;

constexpr int kUsageError = 2;

struct Options {
  std::string config_path = "configs/mirror.yaml";
  std::string log_level = "info";
  bool pretty = false;
};

void print_messages(const core::LoadedConfig& loaded) {
  for (const auto& w : loaded.warnings) core::log::warn("configuration", {{"warning", w}});
  for (const auto& e : loaded.errors) core::log::error("configuration", {{"error", e}});
}

int run_config_check(const Options& opts, bool explicit_path) {
  auto loaded = core::load_config(opts.config_path, explicit_path, core::process_environment());
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
  for (const auto& e : loaded.errors) std::cerr << "error: " << e << "\n";
  std::cout << core::to_yaml(loaded.config, true);
  if (!loaded.errors.empty()) {
    std::cerr << loaded.errors.size() << " error(s) in " << loaded.source << "\n";
    return 1;
  }
  std::cerr << "configuration " << loaded.source << " is valid\n";
  return 0;
}

int run_version() {
  const auto& b = core::build_info();
  std::cout << "Mirror Streaming Server\n"
            << "  Version:    " << b.version << "\n"
            << "  Build Time: " << b.build_time << "\n"
            << "  Git Commit: " << b.git_commit << "\n";
  return 0;
}

// Every viewer holds a socket (a held LL-HLS request keeps it for seconds):
// the default soft limit of 1024 descriptors would cap a server far below
// server.max_connections. Raise it to the hard limit.
void raise_open_file_limit(int max_connections) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t wanted = lim.rlim_max;
  if (lim.rlim_cur < wanted) {
    lim.rlim_cur = wanted;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  const auto needed = static_cast<rlim_t>(max_connections) + 256;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    core::log::warn("open file limit is below server.max_connections",
                    {{"limit", static_cast<std::uint64_t>(lim.rlim_cur)},
                     {"max_connections", max_connections}});
  }
}

int serve(const Options& opts, bool explicit_path) {
  // Before any thread exists, so that every thread inherits the mask.
  server::block_stop_signals();

  auto loaded = core::load_config(opts.config_path, explicit_path, core::process_environment());
  print_messages(loaded);
  if (!loaded.errors.empty()) {
    core::log::error("invalid configuration; not starting",
                     {{"source", loaded.source}, {"errors", loaded.errors.size()}});
    return 1;
  }
  if (loaded.used_defaults) {
    core::log::info("no configuration file; using built-in defaults",
                    {{"path", opts.config_path}});
  }
  const auto& b = core::build_info();
  core::log::info("starting mirror", {{"version", b.version},
                                      {"build_time", b.build_time},
                                      {"git_commit", b.git_commit},
                                      {"config", loaded.source}});

  raise_open_file_limit(loaded.config.server.max_connections);
  const auto shutdown_timeout = loaded.config.server.shutdown_timeout;
  server::Server srv(std::move(loaded.config), b);
  if (auto st = srv.start(); !st) {
    core::log::error("mirror failed to start", {{"error", st.error().message},
                                                {"code", core::error_code_name(st.error().code)}});
    return 1;
  }
  int sig = server::wait_for_stop_signal([&srv] {
    if (auto st = srv.reload_tls(); !st) {
      core::log::error("TLS certificate not reloaded; keeping the current one", {{"error", st.error().message}});
    } else {
      core::log::info("TLS certificate reloaded");
    }
  });
  core::log::info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                               {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  shutdown_timeout)
                                                  .count()}});
  // Leave room beyond the graceful deadline for the last closes, then force.
  server::arm_forced_exit(shutdown_timeout + std::chrono::seconds(5));
  srv.stop();
  server::disarm_forced_exit();
  core::log::info("mirror stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Mirror: live video ingest, transcoding and low-latency HLS delivery", "mirror"};
  app.fallthrough();
  app.require_subcommand(0, 1);
  Options opts;
  auto* config_opt =
      app.add_option("-c,--config", opts.config_path, "Configuration file path")
          ->capture_default_str();
  app.add_option("-l,--log-level", opts.log_level, "Log level (debug, info, warn, error)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_flag("-p,--pretty-log", opts.pretty, "Human-readable console logs instead of JSON lines");

  auto* version_cmd = app.add_subcommand("version", "Print version information");
  auto* config_cmd = app.add_subcommand("config", "Configuration commands");
  config_cmd->require_subcommand(1);
  auto* check_cmd =
      config_cmd->add_subcommand("check", "Validate a configuration file and print it, secrets masked");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\n\n" << app.help();
    return kUsageError;
  }

  core::log::Options log_opts;
  log_opts.level = core::log::parse_level(opts.log_level).value_or(core::log::Level::kInfo);
  log_opts.pretty = opts.pretty;
  core::log::init(log_opts);

  const bool explicit_path = config_opt->count() > 0;
  if (version_cmd->parsed()) return run_version();
  if (check_cmd->parsed()) return run_config_check(opts, explicit_path);
  return serve(opts, explicit_path);
}
