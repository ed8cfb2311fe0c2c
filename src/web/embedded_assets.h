// The table the build generates from web/ and hls.js (cmake/MirrorWebAssets.cmake
// writes its definition). Only web_assets.cpp reads it.
#pragma once

#include "web/web_assets.h"

#include <span>

namespace mirror::web::detail {

std::span<const Asset> embedded_assets();

}  // namespace mirror::web::detail
