// What the console's access control reads from clients: Cookie headers and
// session cookies, playback tokens, and the playlists that tokens are
// written into. The first byte picks the reader; the rest is its input.
#include "api/admin_session.h"
#include "api/playback_access.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

std::size_t count(std::string_view text, char c) {
  std::size_t n = 0;
  for (char x : text) n += x == c ? 1 : 0;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mirror::api;
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  static SessionStore sessions(std::chrono::hours{1}, 64);
  switch (data[0] % 4) {
    case 0: {
      if (auto value = session_cookie(input)) {
        // Hostile text is never a session (sessions are random and signed).
        if (sessions.check(*value)) std::abort();
        sessions.close(*value);
      }
      break;
    }
    case 1: {
      const auto now = std::chrono::system_clock::now();
      if (check_playback_token("a-fuzzing-secret-value", "cam", input, now) == TokenVerdict::kValid) std::abort();
      // A real token still opens its stream after any amount of garbage was checked.
      const auto good = mint_playback_token("a-fuzzing-secret-value", "cam", now + std::chrono::hours{1});
      if (check_playback_token("a-fuzzing-secret-value", "cam", good, now) != TokenVerdict::kValid) std::abort();
      break;
    }
    case 2: {
      // Every line is kept, and the parameter lands once per URI line at least.
      const auto out = add_query_to_uris(input, "token=T");
      if (count(out, '\n') != count(input, '\n')) std::abort();
      if (out.size() < input.size()) std::abort();
      break;
    }
    default:
      (void)client_host(input);
      break;
  }
  return 0;
}
