// SRT stream ids and stream names. A publisher names its stream either plainly
// ("cam1") or with the SRT access-control syntax ("#!::r=cam1,m=publish";
// other keys are ignored). Names are 1-64 characters of [A-Za-z0-9_-] so that
// they are safe in URLs, file names, metric labels and Redis keys.
#pragma once

#include "core/errors.h"
#include "core/names.h"

#include <string>
#include <string_view>

namespace mirror::ingest {

using core::is_valid_stream_name;

// The stream name a publisher asks for; INVALID_INPUT for a bad name, or for
// an access-control id whose mode is not "publish".
core::Result<std::string> parse_stream_id(std::string_view stream_id);

}  // namespace mirror::ingest
