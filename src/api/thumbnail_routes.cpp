#include "api/thumbnail_routes.h"

#include "ingest/stream_id.h"

#include <memory>

namespace mirror::api {

void register_thumbnail_route(http::Router& router, std::string_view pattern, ThumbnailSource source,
                              std::string_view cache_control) {
  auto shared = std::make_shared<ThumbnailSource>(std::move(source));
  router.get(pattern, [shared, cache = std::string(cache_control)](const http::ExchangePtr& ex) {
    const std::string name(ex->request().path_param("name"));
    if (!ingest::is_valid_stream_name(name)) {
      ex->respond_error(core::Error(core::ErrorCode::kNotFound, "no such stream"));
      return;
    }
    (*shared)(name, [ex, cache](core::Result<core::SharedBytes> jpeg) {
      if (!jpeg) {
        ex->respond_error(jpeg.error());
        return;
      }
      http::Response r;
      r.status = 200;
      r.headers.set("Content-Type", "image/jpeg");
      r.headers.set("Cache-Control", cache);
      r.shared_body = {std::move(*jpeg)};
      ex->respond(std::move(r));
    });
  });
}

}  // namespace mirror::api
