#include "server/signals.h"

#include "core/logging.h"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <thread>

namespace mirror::server {
namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void block_stop_signals() {
  sigset_t set = stop_set();
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int wait_for_stop_signal() {
  sigset_t set = stop_set();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

void arm_forced_exit(std::chrono::nanoseconds grace) {
  std::thread([grace] {
    sigset_t set = stop_set();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(grace);
    timespec ts{static_cast<std::time_t>(secs.count()),
                static_cast<long>((grace - secs).count())};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) {
      core::log::warn("second signal: exiting now", {{"signal", sig}});
      std::_Exit(130);
    }
    core::log::error("shutdown overran its deadline: exiting now");
    std::_Exit(1);
  }).detach();
}

}  // namespace mirror::server
