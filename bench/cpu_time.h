// CPU time for the benchmarks that compare Mirror with a reference program
// run in the same process tree: our own CPU, and that of a child command.
#pragma once

#include <sys/resource.h>

#include <cstdlib>
#include <string>

namespace mirror::bench {

// User + system CPU seconds of RUSAGE_SELF or RUSAGE_CHILDREN (waited for).
inline double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs `command` through the shell; its CPU seconds, or -1 when it failed.
inline double command_cpu_seconds(const std::string& command) {
  const double before = cpu_seconds(RUSAGE_CHILDREN);
  if (std::system(command.c_str()) != 0) return -1;
  return cpu_seconds(RUSAGE_CHILDREN) - before;
}

}  // namespace mirror::bench
