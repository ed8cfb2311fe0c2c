// The player page on the delivery port: "/", its script and style, and the
// vendored hls.js, served from the binary. Revalidated with ETags (the URLs
// carry no version): a reload costs a 304.
#pragma once

#include "http/router.h"

namespace mirror::api {

void register_player_routes(http::Router& router);

}  // namespace mirror::api
