#include "support/s3rver.h"

#include <csignal>
#include <filesystem>

namespace mirror::testing {

using namespace std::chrono_literals;

S3rver::S3rver(const std::string& source_dir, const std::string& dir, const std::string& bucket)
    : source_dir_(source_dir), dir_(dir), bucket_(bucket), port_(free_tcp_port()) {
  std::filesystem::create_directories(dir_);
  start();
}

S3rver::~S3rver() { stop(); }

bool S3rver::start() {
  stop();
  if (node_binary().empty() || !std::filesystem::exists(source_dir_ + "/node_modules/@20minutes/s3rver")) return false;
  process_ = std::make_unique<Process>(std::vector<std::string>{
      node_binary(), source_dir_ + "/tests/support/s3rver.mjs", std::to_string(port_), dir_, bucket_});
  ready_ = eventually([&] { return process_->stdout_text().find("ready") != std::string::npos || !process_->running(); },
                      20s) &&
           process_->running();
  return ready_;
}

void S3rver::stop() {
  if (process_ && process_->running()) {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  process_.reset();
  ready_ = false;
}

}  // namespace mirror::testing
