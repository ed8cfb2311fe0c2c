// libFuzzer target for the request router with the routes the delivery
// server registers (playback and player pages) and its filters (CORS,
// Alt-Svc), no stream live. The input's first byte picks the method, the
// rest is the request target as a client sent it. Checks, besides the
// sanitizers: every request that parses is answered at once (nothing is
// live to wait for), with a status a client can read, and every error has a
// JSON body.
#include "api/playback_routes.h"
#include "api/site_routes.h"
#include "http/middleware.h"
#include "http/pipeline.h"
#include "http/target.h"

#include <array>
#include <cstdlib>
#include <string_view>

namespace {

using namespace mirror;

void require(bool condition) {
  if (!condition) std::abort();
}

class RecordingExchange final : public http::Exchange {
 public:
  explicit RecordingExchange(http::Request r) : Exchange(std::move(r)) {}
  int status = 0;
  std::string body;

 protected:
  void send_response(http::Response&& r) override {
    status = r.status;
    body = std::move(r.body);
  }
  void send_head(int s, http::Headers&&) override { status = s; }
  void send_chunk(std::string&&) override {}
  void send_end() override {}
};

const http::Pipeline& delivery() {
  static const http::Pipeline* pipeline = [] {
    auto* p = new http::Pipeline;
    p->use(http::cors_filter());
    p->use(http::alt_svc_filter([] { return 8443; }));
    api::PlaybackContext playback;
    playback.find = [](const std::string&) {
      return std::shared_ptr<package::hls::Presentation>();
    };
    playback.list = [] { return std::vector<std::shared_ptr<package::hls::Presentation>>(); };
    api::register_playback_routes(p->router(), std::move(playback));
    api::register_site_routes(p->router(), "delivery");
    return p;
  }();
  return *pipeline;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::array<std::string_view, 6> kMethods = {"GET",    "HEAD",    "POST",
                                                               "DELETE", "OPTIONS", "PUT"};
  const std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = http::parse_target(target);
  if (!parsed) return 0;
  http::Request request;
  request.method = std::string(kMethods[data[0] % kMethods.size()]);
  request.target = std::string(target);
  request.path = std::move(parsed->path);
  request.query = std::move(parsed->query);
  request.protocol = "HTTP/2";
  request.secure = (data[0] & 0x80) != 0;
  auto exchange = std::make_shared<RecordingExchange>(std::move(request));
  delivery().dispatch(exchange);
  require(exchange->answered());
  require(exchange->status >= 100 && exchange->status <= 599);
  if (exchange->status >= 400) require(!exchange->body.empty() && exchange->body.front() == '{');
  return 0;
}
