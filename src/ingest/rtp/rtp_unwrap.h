// Extends RTP's wrapping counters to 64 bits: the 16-bit sequence number
// (SequenceUnwrapper) and the 32-bit timestamp (RtpTimestampUnwrapper). Both
// are media::TimestampUnwrapper at RTP's widths: each value is placed at the
// shortest distance from the previous one, so packets may arrive out of order
// by up to half the counter range.
//
// Threads: single-threaded objects, one per RTP source.
#pragma once

#include "media/timestamp.h"

namespace mirror::ingest {

class SequenceUnwrapper : public media::TimestampUnwrapper {
 public:
  SequenceUnwrapper() noexcept : media::TimestampUnwrapper(16) {}
};

class RtpTimestampUnwrapper : public media::TimestampUnwrapper {
 public:
  RtpTimestampUnwrapper() noexcept : media::TimestampUnwrapper(32) {}
};

}  // namespace mirror::ingest
