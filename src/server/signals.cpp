#include "server/signals.h"

#include "core/logging.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
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

int wait_for_stop_signal(const std::function<void()>& on_hangup) {
  sigset_t set = stop_set();
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) return sig;
    if (on_hangup) on_hangup();
  }
}

namespace {
std::atomic<bool> g_stopped{false};
}  // namespace

void arm_forced_exit(std::chrono::nanoseconds grace) {
  std::thread([grace] {
    sigset_t set = stop_set();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      const auto left = std::max(std::chrono::nanoseconds(0),
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     deadline - std::chrono::steady_clock::now()));
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
      timespec ts{static_cast<std::time_t>(secs.count()), static_cast<long>((left - secs).count())};
      const int sig = sigtimedwait(&set, nullptr, &ts);
      // The stop finished meanwhile: nothing to force (the process is exiting).
      if (g_stopped.load(std::memory_order_acquire)) return;
      if (sig > 0) {
        core::log::warn("second signal: exiting now", {{"signal", sig}});
        std::_Exit(130);
      }
      // Interrupted (a debugger, a sanitizer stopping threads at exit): wait on.
      if (errno == EINTR) continue;
      core::log::error("shutdown overran its deadline: exiting now");
      std::_Exit(1);
    }
  }).detach();
}

void disarm_forced_exit() { g_stopped.store(true, std::memory_order_release); }

}  // namespace mirror::server
