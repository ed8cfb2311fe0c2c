#include "api/site_routes.h"

#include "web/web_assets.h"

namespace mirror::api {

void register_site_routes(http::Router& router, std::string_view site) {
  for (const auto& asset : web::all_assets()) {
    if (asset.site != site) continue;
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
