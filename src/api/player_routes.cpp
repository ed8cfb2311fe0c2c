#include "api/player_routes.h"

#include "web/web_assets.h"

namespace mirror::api {

void register_player_routes(http::Router& router) {
  for (const auto& asset : web::all_assets()) {
    const web::Asset* a = &asset;
    router.get(std::string(a->path), [a](const http::ExchangePtr& ex) {
      const auto if_none_match = ex->request().headers.get("If-None-Match");
      http::Response r;
      r.headers.set("ETag", a->etag);
      r.headers.set("Cache-Control", "no-cache");
      if (if_none_match && if_none_match->find(a->etag) != std::string_view::npos) {
        r.status = 304;
      } else {
        r.status = 200;
        r.headers.set("Content-Type", a->content_type);
        r.body.assign(a->body);
      }
      ex->respond(std::move(r));
    });
  }
}

}  // namespace mirror::api
