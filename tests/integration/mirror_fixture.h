// Starts the real mirror binary on free loopback ports with a configuration
// written for the test, and stops it afterwards with SIGTERM, as an operator
// would. A sanitizer build's report in the server's output (ASan, UBSan,
// LeakSanitizer at exit, TSan) fails the test that ran the server.
#pragma once

#include "support/api_schema.h"
#include "support/http_client.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

namespace mirror::testing {

inline std::string mirror_binary() { return MIRROR_TEST_BINARY; }
inline std::string source_dir() { return MIRROR_TEST_SOURCE_DIR; }

struct MirrorPorts {
  int admin = free_tcp_port();
  int http = free_tcp_port();
  int https = free_tcp_udp_port();
  int srt = free_tcp_udp_port();
  int rtp = free_tcp_udp_port();
};

// A YAML configuration for a test instance; `server_extra` is appended
// verbatim after the server keys (indented: more server keys; at column 0:
// sections of its own, such as redis and cluster).
inline std::string test_config(const MirrorPorts& p, const std::string& dir,
                               const std::string& server_extra = "") {
  return "server:\n"
         "  admin_port: " + std::to_string(p.admin) + "\n"
         "  http_port: " + std::to_string(p.http) + "\n"
         "  http3_port: " + std::to_string(p.https) + "\n"
         "  shutdown_timeout: 5s\n"
         "  data_dir: " + dir + "/data\n" + server_extra +
         "ingestion:\n"
         "  srt:\n"
         "    port: " + std::to_string(p.srt) + "\n"
         "  rtp:\n"
         "    port: " + std::to_string(p.rtp) + "\n"
         "storage:\n"
         "  local:\n"
         "    cache_dir: " + dir + "/cache\n";
}

class MirrorInstance {
 public:
  explicit MirrorInstance(const std::string& server_extra = "",
                          std::map<std::string, std::string> env = {})
      : env_(std::move(env)) {
    dir_ = make_temp_dir("mirror-it");
    config_path_ = dir_ + "/mirror.yaml";
    // "${HTTP_PORT}" in `server_extra` stands for this instance's HTTP port
    // (a node's cluster.advertise_url).
    std::string extra = server_extra;
    for (auto at = extra.find("${HTTP_PORT}"); at != std::string::npos; at = extra.find("${HTTP_PORT}")) {
      extra.replace(at, 12, std::to_string(ports_.http));
    }
    write_file(config_path_, test_config(ports_, dir_, extra));
    process_ = std::make_unique<Process>(std::vector<std::string>{mirror_binary(), "-c", config_path_}, env_);
    // Every JSON answer of its admin API is held to the API description.
    watch_api_port(ports_.admin);
  }

  ~MirrorInstance() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      if (!process_->wait(std::chrono::seconds(30))) ADD_FAILURE() << "mirror did not stop within 30 s of SIGTERM";
    }
    // Every sanitizer ends its report with "SUMMARY: <Name>Sanitizer: ...".
    const std::string err = process_->stderr_text();
    for (std::size_t at = err.find("SUMMARY: "); at != std::string::npos; at = err.find("SUMMARY: ", at + 1)) {
      const std::size_t end = std::min(err.find('\n', at), err.size());
      if (err.substr(at, end - at).find("Sanitizer") == std::string::npos) continue;
      const std::size_t begin = end > 6000 ? end - 6000 : 0;
      ADD_FAILURE() << "the server's sanitizer reported:\n" << err.substr(begin, end - begin);
      break;
    }
    const auto problems = take_api_problems(ports_.admin);
    for (std::size_t i = 0; i < problems.size() && i < 20; ++i) {
      ADD_FAILURE() << "an answer of the admin API differs from src/api/openapi.json: " << problems[i];
    }
  }
  MirrorInstance(const MirrorInstance&) = delete;
  MirrorInstance& operator=(const MirrorInstance&) = delete;

  // Waits until /ready answers 200; false if the process died or time ran out.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_->running()) return false;
      if (http_get(ports_.admin, "/ready").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Starts the server again with the same configuration and ports, after
  // the previous process has gone (stopped, or killed by the test).
  void restart() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      process_->wait(std::chrono::seconds(30));
    }
    process_ = std::make_unique<Process>(std::vector<std::string>{mirror_binary(), "-c", config_path_}, env_);
  }

  const MirrorPorts& ports() const { return ports_; }
  Process& process() { return *process_; }
  const std::string& dir() const { return dir_; }

 private:
  MirrorPorts ports_;
  std::map<std::string, std::string> env_;
  std::string dir_;
  std::string config_path_;
  std::unique_ptr<Process> process_;
};

}  // namespace mirror::testing
