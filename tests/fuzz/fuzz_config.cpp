// Configuration text and environment overrides: a typo or a hostile file must
// give errors, never a crash, and a valid result must survive a round trip.
#include "core/config.h"
#include "core/units.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // The first line doubles as an environment override value.
  auto nl = text.find('\n');
  mirror::core::Environment env{{"MIRROR_SERVER_READ_TIMEOUT", text.substr(0, nl)}};
  auto loaded = mirror::core::load_config_from_string(text, {});
  if (loaded.errors.empty()) {
    auto again = mirror::core::load_config_from_string(mirror::core::to_yaml(loaded.config, false), {});
    if (!(again.config == loaded.config)) __builtin_trap();
  }
  mirror::core::load_config_from_string(text, env);
  mirror::core::parse_duration(text);
  mirror::core::parse_size(text);
  mirror::core::parse_bitrate(text);
  return 0;
}
