#include "api/site_routes.h"

#include "web/web_assets.h"

namespace mirror::api {

void register_site_routes(http::Router& router, std::string_view site) {
  for (const auto& asset : web::all_assets()) {
    if (asset.site != site) continue;
    const web::Asset* a = &asset;
    const bool console = site == "admin";
    router.get(std::string(a->path), [a, console](const http::ExchangePtr& ex) {
      const auto if_none_match = ex->request().headers.get("If-None-Match");
      http::Response r;
      r.headers.set("ETag", a->etag);
      r.headers.set("Cache-Control", "no-cache");
      if (console) {
        // The console runs its own scripts only: text from the wire (stream
        // names, SDP, error texts) can never become code, and no other site
        // may frame it.
        r.headers.set("Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                      "frame-ancestors 'none'; form-action 'self'");
        r.headers.set("X-Content-Type-Options", "nosniff");
      }
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
