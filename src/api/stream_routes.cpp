#include "api/stream_routes.h"

#include "ingest/stream_id.h"

namespace mirror::api {
namespace {

core::Error not_found(std::string_view name) {
  return core::Error(core::ErrorCode::kNotFound, "no such stream",
                     {{"name", std::string(name.substr(0, 64))}});
}

}  // namespace

void register_stream_routes(http::Router& router, ingest::StreamTable& streams) {
  router.get("/api/v1/streams", [&streams](const http::ExchangePtr& ex) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : streams.list()) list.push_back(s->to_json(false));
    auto res = http::json_response(200, nlohmann::json{{"streams", std::move(list)}}.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.get("/api/v1/streams/{name}", [&streams](const http::ExchangePtr& ex) {
    const auto name = std::string(ex->request().path_param("name"));
    auto s = ingest::is_valid_stream_name(name) ? streams.find(name) : nullptr;
    if (!s) {
      ex->respond_error(not_found(name));
      return;
    }
    auto res = http::json_response(200, s->to_json(true).dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.del("/api/v1/streams/{name}", [&streams](const http::ExchangePtr& ex) {
    const auto name = std::string(ex->request().path_param("name"));
    if (!ingest::is_valid_stream_name(name)) {
      ex->respond_error(not_found(name));
      return;
    }
    auto st = streams.end_stream(name);
    if (!st) {
      ex->respond_error(st.error());
      return;
    }
    ex->respond(http::json_response(200, nlohmann::json{{"name", name}, {"state", "ended"}}.dump()));
  });
}

}  // namespace mirror::api
