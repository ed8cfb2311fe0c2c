// What the S3 archiver did, sent back to the segment writer (which owns the
// index) to be recorded there.
#pragma once

#include "storage/segment_index.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mirror::storage {

// What the archiver did, for the writer to record in the index.
struct ArchiveReport {
  enum class Kind {
    kUploaded,      // `segments` are in S3 now
    kGone,          // their local file was gone before it could be uploaded
    kDeleted,       // `segments` were deleted from S3
    kInitUploaded,  // `object_keys` (init segments of `stream`'s `session`) are in S3
    kInitsDeleted,  // `object_keys` were deleted
  };
  Kind kind = Kind::kUploaded;
  std::vector<SegmentKey> segments;
  std::string stream;
  std::int64_t session = 0;
  std::vector<std::string> object_keys;
};

}  // namespace mirror::storage
