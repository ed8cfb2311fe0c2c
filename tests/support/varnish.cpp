#include "support/varnish.h"

#include <csignal>
#include <regex>

namespace mirror::testing {

using namespace std::chrono_literals;

Varnish::Varnish(const std::string& vcl, int origin_port, const std::string& dir, int threads)
    : dir_(dir), port_(free_tcp_port()) {
  const std::string text = std::regex_replace(read_file(vcl), std::regex(R"(\.port = "8000";)"),
                                              ".port = \"" + std::to_string(origin_port) + "\";");
  write_file(dir_ + "/edge.vcl", text);
  process_ = std::make_unique<Process>(std::vector<std::string>{
      "/usr/sbin/varnishd", "-F", "-j", "none", "-a", "127.0.0.1:" + std::to_string(port_), "-T",
      "none", "-f", dir_ + "/edge.vcl", "-n", dir_ + "/varnish", "-s", "malloc,64m", "-p",
      "thread_pool_min=" + std::to_string(threads)});
}

Varnish::~Varnish() {
  // The cache process follows its manager.
  process_->signal(SIGTERM);
  if (!process_->wait(10s)) process_->signal(SIGKILL);
}

long long Varnish::stat(const std::string& name) const {
  auto r = run({"/usr/bin/varnishstat", "-n", dir_ + "/varnish", "-1", "-f", name}, {}, {}, 10s);
  std::smatch m;
  return std::regex_search(r.out, m, std::regex(name + R"(\s+(\d+))")) ? std::stoll(m[1]) : -1;
}

}  // namespace mirror::testing
