// libFuzzer target for the DVR's ?start=&end= query. Checks, besides the
// sanitizers: an accepted window is ordered, starts no later than now, ends
// no earlier than the retained span, and its carried-on query reads back as
// the same window.
#include "api/dvr_window.h"

#include <cstdlib>
#include <string_view>

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

constexpr std::int64_t kNow = 1'796'292'000'000;
constexpr std::int64_t kRetention = 86'400'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  const auto w = mirror::api::parse_dvr_window(query, kNow, kRetention);
  if (!w.error.empty()) return 0;
  require(!w.start_ms || *w.start_ms <= kNow);
  require(!w.end_ms || *w.end_ms >= kNow - kRetention);
  require(!(w.start_ms && w.end_ms) || *w.start_ms < *w.end_ms);
  const auto again = mirror::api::parse_dvr_window(w.query(), kNow, kRetention);
  require(again.error.empty() && again.start_ms == w.start_ms && again.end_ms == w.end_ms);
  return 0;
}
