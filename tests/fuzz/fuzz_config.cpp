// Configuration text and environment overrides: a typo or a hostile file must
// give errors, never a crash, and a valid result must survive a round trip.
#include "core/config.h"
#include "core/units.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

// yaml-cpp's emitter writes invalid UTF-8 as U+FFFD, so text that is not UTF-8
// cannot survive a round trip; such input is still parsed, just not compared.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // The first line doubles as an environment override value.
  auto nl = text.find('\n');
  mirror::core::Environment env{{"MIRROR_SERVER_READ_TIMEOUT", text.substr(0, nl)}};
  auto loaded = mirror::core::load_config_from_string(text, {});
  if (loaded.errors.empty() && valid_utf8(text)) {
    auto again = mirror::core::load_config_from_string(mirror::core::to_yaml(loaded.config, false), {});
    if (!(again.config == loaded.config)) __builtin_trap();
  }
  mirror::core::load_config_from_string(text, env);
  mirror::core::parse_duration(text);
  mirror::core::parse_size(text);
  mirror::core::parse_bitrate(text);
  return 0;
}
