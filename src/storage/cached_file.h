// Reading a whole file of the segment cache: segments and init segments,
// which appear whole (written aside, then renamed) and are never larger
// than `max_bytes`. A file that does not exist is NOT_FOUND.
// Any thread (a storage reader, an upload worker).
#pragma once

#include "core/errors.h"

#include <cstddef>
#include <string>

namespace mirror::storage {

core::Result<std::string> read_cached_file(const std::string& path, std::size_t max_bytes);

}  // namespace mirror::storage
