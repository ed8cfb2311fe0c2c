// The pages a site serves from the binary (web/web_assets.h): on the delivery
// port the player page "/", its script and style and the vendored hls.js; on
// the admin server the operator console "/" (web/console/, under a strict
// Content-Security-Policy) and the API description. Revalidated with ETags (the URLs
// carry no version): a reload costs a 304.
#pragma once

#include "http/router.h"

#include <string_view>

namespace mirror::api {

// One GET route per asset of `site` ("delivery" or "admin").
void register_site_routes(http::Router& router, std::string_view site);

}  // namespace mirror::api
