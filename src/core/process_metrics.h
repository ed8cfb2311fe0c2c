// The standard process_* metrics of Prometheus clients (CPU, memory, file
// descriptors, start time), read from /proc on Linux at render time.
// Threads: register once at start-up; the callbacks run on whichever thread
// renders /metrics and only read /proc and getrlimit.
#pragma once

#include "core/metrics.h"

namespace mirror::core {

// One reading of this process' resources. A field that could not be read is NaN,
// which renders as NaN rather than a misleading zero.
struct ProcessStats {
  double cpu_seconds;            // user + system time
  double resident_memory_bytes;  // RSS
  double virtual_memory_bytes;
  double open_fds;
  double max_fds;             // soft RLIMIT_NOFILE; +Inf when unlimited
  double start_time_seconds;  // since the Unix epoch
};

ProcessStats read_process_stats();

// Adds process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds as callbacks. Calling it twice is harmless.
void register_process_metrics(MetricsRegistry& registry);

}  // namespace mirror::core
