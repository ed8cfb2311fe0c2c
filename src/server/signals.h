// Process signals for the serving process. SIGINT and SIGTERM ask for a
// graceful stop; a second one, or a stop that overruns its deadline by far,
// ends the process at once.
#pragma once

#include <chrono>
#include <functional>

namespace mirror::server {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it
// creates afterwards, so that only wait_for_stop_signal() receives them. Call it
// first thing in main(). Also ignores SIGPIPE (a closed socket is an error code).
void block_stop_signals();

// Waits for SIGINT or SIGTERM and returns its number. A SIGHUP meanwhile
// runs `on_hangup` (reload what can be reloaded) and waits on.
int wait_for_stop_signal(const std::function<void()>& on_hangup = {});

// After the first signal: a watchdog that ends the process with exit status
// 130 on a second signal, or 1 when `grace` passes without the stop finishing.
void arm_forced_exit(std::chrono::nanoseconds grace);
// The stop completed: the watchdog stands down.
void disarm_forced_exit();

}  // namespace mirror::server
