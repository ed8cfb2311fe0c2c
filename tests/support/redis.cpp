#include "support/redis.h"

#include <csignal>
#include <filesystem>
#include <fstream>

namespace mirror::testing {

using namespace std::chrono_literals;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string run_cli(int port, const std::string& password, const std::vector<std::string>& args) {
  const std::string cli = find_program("redis-cli", "MIRROR_TEST_REDIS_CLI");
  if (cli.empty()) return {};
  std::vector<std::string> argv{cli, "-h", "127.0.0.1", "-p", std::to_string(port)};
  if (!password.empty()) {
    argv.push_back("--no-auth-warning");
    argv.push_back("-a");
    argv.push_back(password);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return trimmed(run(argv, {}, {}, 10s).out);
}

}  // namespace

RedisServer::RedisServer(std::string dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)), port_(free_tcp_port()) {
  std::filesystem::create_directories(dir_);
  start();
}

RedisServer::~RedisServer() { stop(); }

bool RedisServer::start() {
  stop();
  const std::string server = find_program("redis-server", "MIRROR_TEST_REDIS_SERVER");
  if (server.empty()) return false;
  std::vector<std::string> argv{server, "--bind", "127.0.0.1", "--port", std::to_string(port_), "--save", "",
                                "--appendonly", "no", "--dir", dir_, "--daemonize", "no"};
  if (!options_.password.empty()) {
    argv.insert(argv.end(), {"--requirepass", options_.password, "--masterauth", options_.password});
  }
  if (options_.replica_of != 0) {
    argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(options_.replica_of)});
  }
  process_ = std::make_unique<Process>(argv);
  ready_ = eventually([&] { return cli({"PING"}) == "PONG" || !process_->running(); }, 20s) && process_->running();
  return ready_;
}

void RedisServer::stop() {
  if (process_ && process_->running()) {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  process_.reset();
  ready_ = false;
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  return run_cli(port_, options_.password, args);
}

pid_t RedisServer::pid() const { return process_ ? process_->pid() : -1; }

RedisSentinel::RedisSentinel(std::string dir, int master_port, std::string master_name, std::string master_password)
    : dir_(std::move(dir)), master_name_(std::move(master_name)), port_(free_tcp_port()) {
  std::filesystem::create_directories(dir_);
  const std::string sentinel = find_program("redis-sentinel", "MIRROR_TEST_REDIS_SENTINEL");
  if (sentinel.empty()) return;
  // The sentinel rewrites its file as it learns; it must be its own.
  const std::string conf = dir_ + "/sentinel.conf";
  std::ofstream(conf) << "bind 127.0.0.1\n"
                      << "port " << port_ << "\n"
                      << "dir " << dir_ << "\n"
                      << "sentinel monitor " << master_name_ << " 127.0.0.1 " << master_port << " 1\n"
                      << "sentinel down-after-milliseconds " << master_name_ << " 1000\n"
                      << "sentinel failover-timeout " << master_name_ << " 5000\n"
                      << "sentinel parallel-syncs " << master_name_ << " 1\n"
                      << (master_password.empty() ? ""
                                                  : "sentinel auth-pass " + master_name_ + " " + master_password + "\n");
  process_ = std::make_unique<Process>(std::vector<std::string>{sentinel, conf});
  ready_ = eventually([&] { return master_port_now() == master_port || !process_->running(); }, 20s) &&
           process_->running();
}

RedisSentinel::~RedisSentinel() {
  if (process_ && process_->running()) {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
}

std::string RedisSentinel::cli(const std::vector<std::string>& args) const { return run_cli(port_, {}, args); }

int RedisSentinel::master_port() const { return master_port_now(); }

int RedisSentinel::master_port_now() const {
  const std::string out = cli({"SENTINEL", "get-master-addr-by-name", master_name_});
  const auto nl = out.find('\n');
  if (nl == std::string::npos) return 0;
  try {
    return std::stoi(out.substr(nl + 1));
  } catch (...) {
    return 0;
  }
}

}  // namespace mirror::testing
