// Small pieces of playlist text shared by the live and the DVR playlists.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mirror::package::hls {

// EXT-X-PROGRAM-DATE-TIME's value: ISO 8601 in UTC with milliseconds.
std::string program_date_time_text(std::int64_t unix_ms);
std::string program_date_time_text(std::chrono::system_clock::time_point t);

// Decimal seconds as playlists write them: enough digits for 90 kHz
// exactness of ordinary frame rates without trailing noise.
std::string seconds_text(double s);

}  // namespace mirror::package::hls
