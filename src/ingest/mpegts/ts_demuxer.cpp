#include "ingest/mpegts/ts_demuxer.h"

#include "ingest/mpegts/stream_type.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mirror::ingest {
namespace {

// A stream that keeps announcing new (PID, type) pairs cannot grow this set
// without bound; past it, further pairs go unreported.
constexpr std::size_t kMaxUnsupportedReported = 4096;

bool same_bytes(std::span<const std::uint8_t> a, const std::vector<std::uint8_t>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TsDemuxer::TsDemuxer(TsDemuxerCallbacks callbacks, core::BufferPool& pool)
    : callbacks_(std::move(callbacks)), pool_(&pool) {
  last_pat_.reserve(kMaxPsiSectionSize);
  last_pmt_.reserve(kMaxPsiSectionSize);
}

TsDemuxer::~TsDemuxer() = default;

// ---------------------------------------------------------------------------
// Sync

void TsDemuxer::push(std::span<const std::uint8_t> bytes,
                     std::chrono::system_clock::time_point arrival) {
  stats_.bytes += bytes.size();
  while (!bytes.empty()) {
    if (!locked_) {
      bytes = search_sync(bytes, arrival);
      continue;
    }
    if (stash_length_ > 0) {
      // The start of a packet from an earlier chunk: complete it.
      if (stash_[0] != kTsSyncByte) {
        lose_sync();
        continue;
      }
      const std::size_t n = std::min(kTsPacketSize - stash_length_, bytes.size());
      std::memcpy(stash_.data() + stash_length_, bytes.data(), n);
      stash_length_ += n;
      bytes = bytes.subspan(n);
      if (stash_length_ < kTsPacketSize) return;
      stash_length_ = 0;
      handle_packet(std::span<const std::uint8_t, kTsPacketSize>(stash_.data(), kTsPacketSize),
                    stash_arrival_);
      continue;
    }
    if (bytes[0] != kTsSyncByte) {
      lose_sync();
      continue;
    }
    if (bytes.size() < kTsPacketSize) {
      std::memcpy(stash_.data(), bytes.data(), bytes.size());
      stash_length_ = bytes.size();
      stash_arrival_ = arrival;
      return;
    }
    // The hot path: whole packets straight from the caller's bytes.
    handle_packet(bytes.first<kTsPacketSize>(), arrival);
    bytes = bytes.subspan(kTsPacketSize);
  }
}

std::span<const std::uint8_t> TsDemuxer::search_sync(
    std::span<const std::uint8_t> bytes, std::chrono::system_clock::time_point arrival) {
  if (stash_length_ == 0) stash_arrival_ = arrival;
  const std::size_t n = std::min(kStashSize - stash_length_, bytes.size());
  std::memcpy(stash_.data() + stash_length_, bytes.data(), n);
  stash_length_ += n;
  bytes = bytes.subspan(n);

  std::size_t i = 0;
  bool found = false;
  for (; i < stash_length_; ++i) {
    if (stash_[i] != kTsSyncByte) continue;
    if (stash_length_ <= i + 2 * kTsPacketSize) break;  // wait for the bytes that confirm it
    if (stash_[i + kTsPacketSize] == kTsSyncByte && stash_[i + 2 * kTsPacketSize] == kTsSyncByte) {
      found = true;
      break;
    }
  }
  if (i > 0) {
    stats_.bytes_skipped += i;
    std::memmove(stash_.data(), stash_.data() + i, stash_length_ - i);
    stash_length_ -= i;
  }
  if (found) {
    locked_ = true;
    if (sync_lost_) ++stats_.resyncs;
    process_stash(arrival);
  }
  return bytes;
}

void TsDemuxer::process_stash(std::chrono::system_clock::time_point arrival) {
  std::size_t pos = 0;
  bool in_sync = true;
  while (stash_length_ - pos >= kTsPacketSize) {
    if (stash_[pos] != kTsSyncByte) {
      in_sync = false;
      break;
    }
    handle_packet(std::span<const std::uint8_t, kTsPacketSize>(stash_.data() + pos, kTsPacketSize),
                  stash_arrival_);
    pos += kTsPacketSize;
  }
  if (pos > 0) {
    std::memmove(stash_.data(), stash_.data() + pos, stash_length_ - pos);
    stash_length_ -= pos;
    // What remains came with the latest chunk, or with the one before.
    stash_arrival_ = arrival;
  }
  if (!in_sync) lose_sync();
}

void TsDemuxer::drain_stash_at_end() {
  if (!locked_ && stash_length_ >= kTsPacketSize) {
    // No more bytes will come to confirm sync three times over: accept a start
    // whose every following packet position also holds a sync byte.
    for (std::size_t i = 0; i + kTsPacketSize <= stash_length_; ++i) {
      if (stash_[i] != kTsSyncByte) continue;
      bool aligned = true;
      for (std::size_t k = i + kTsPacketSize; k < stash_length_; k += kTsPacketSize) {
        aligned = aligned && stash_[k] == kTsSyncByte;
      }
      if (!aligned) continue;
      stats_.bytes_skipped += i;
      std::memmove(stash_.data(), stash_.data() + i, stash_length_ - i);
      stash_length_ -= i;
      locked_ = true;
      if (sync_lost_) ++stats_.resyncs;
      process_stash(stash_arrival_);
      break;
    }
  }
  stats_.bytes_skipped += stash_length_;
  stash_length_ = 0;
}

void TsDemuxer::lose_sync() noexcept {
  locked_ = false;
  sync_lost_ = true;
}

void TsDemuxer::flush() {
  drain_stash_at_end();
  for (ElementaryStream& stream : streams_) {
    stream.pes.flush(*this);
    stream.continuity.reset();
  }
  pat_sections_.reset();
  pmt_sections_.reset();
  pat_continuity_.reset();
  pmt_continuity_.reset();
  locked_ = false;
  sync_lost_ = false;
}

// ---------------------------------------------------------------------------
// Packets

TsDemuxer::ElementaryStream* TsDemuxer::stream_for(std::uint16_t pid) noexcept {
  const std::uint16_t index = stream_index_[pid & kMaxPid];
  return index == 0 ? nullptr : &streams_[index - 1];
}

void TsDemuxer::handle_packet(std::span<const std::uint8_t, kTsPacketSize> bytes,
                              std::chrono::system_clock::time_point arrival) {
  ++stats_.packets;
  TsPacket packet;
  const TsPacketError error = parse_ts_packet(bytes, packet);
  if (packet.transport_error) {
    ++stats_.transport_errors;
    return;
  }
  if (packet.pid == kNullPid) return;
  if (packet.scrambling != 0) {
    ++stats_.scrambled;
    return;
  }
  if (error != TsPacketError::kNone) {
    ++stats_.malformed_packets;
    return;
  }

  SectionAssembler* sections = nullptr;
  ContinuityCounter* continuity = nullptr;
  ElementaryStream* stream = nullptr;
  if (packet.pid == kPatPid) {
    sections = &pat_sections_;
    continuity = &pat_continuity_;
  } else if (packet.pid == pmt_pid_) {
    sections = &pmt_sections_;
    continuity = &pmt_continuity_;
  } else if ((stream = stream_for(packet.pid)) != nullptr) {
    continuity = &stream->continuity;
  } else if (packet.pid != pcr_pid_) {
    return;  // a PID of no interest
  }

  const AdaptationField& af = packet.adaptation;
  ContinuityCounter::Result continuity_result = ContinuityCounter::Result::kOk;
  if (continuity) {
    continuity_result =
        continuity->check(packet.continuity_counter, packet.has_payload, af.discontinuity);
  }
  if (continuity_result == ContinuityCounter::Result::kDuplicate) return;
  if (af.pcr && packet.pid == pcr_pid_ && callbacks_.on_pcr) {
    callbacks_.on_pcr(packet.pid, *af.pcr, arrival);
  }
  if (continuity_result == ContinuityCounter::Result::kGap) {
    ++stats_.continuity_errors;
    // Whatever was being assembled on the PID misses bytes; the next unit
    // start begins afresh (possibly in this very packet).
    if (sections) sections->reset();
    if (stream) stream->pes.drop();
  }

  if (sections) {
    if (packet.has_payload) sections->push(packet.payload, packet.unit_start, *this);
  } else if (stream) {
    if (af.discontinuity) stream->pes.mark_discontinuity();
    if (af.random_access) stream->pes.mark_random_access();
    if (packet.has_payload) {
      stream->pes.push(packet.payload, packet.unit_start, arrival, *this);
      if (af.stuffing && padding_ends_pes_) stream->pes.end_of_unit(*this);
    }
  }
}

// ---------------------------------------------------------------------------
// Tables

void TsDemuxer::on_section(std::uint16_t pid, std::span<const std::uint8_t> section) {
  if (pid == kPatPid) {
    handle_pat(section);
  } else if (pid == pmt_pid_) {
    handle_pmt(section);
  }
}

void TsDemuxer::on_section_error(std::uint16_t /*pid*/) {
  ++stats_.psi_errors;
}

void TsDemuxer::handle_pat(std::span<const std::uint8_t> section) {
  if (section[0] != kTableIdPat || same_bytes(section, last_pat_)) return;
  const core::Result<Pat> pat = parse_pat(section);
  if (!pat) {
    ++stats_.psi_errors;
    return;
  }
  if (!pat.value().current) return;
  last_pat_.assign(section.begin(), section.end());
  const PatProgram* program = pat.value().first_program();
  if (!program) return;
  if (program->pid == kPatPid || program->pid == kNullPid) {
    ++stats_.psi_errors;
    return;
  }
  if (program->pid == pmt_pid_ && program->program_number == program_number_) return;
  // A new program: its PMT will replace the stream set when it arrives.
  pmt_pid_ = program->pid;
  program_number_ = program->program_number;
  pmt_sections_.set_pid(pmt_pid_);
  pmt_continuity_.reset();
  last_pmt_.clear();
}

void TsDemuxer::handle_pmt(std::span<const std::uint8_t> section) {
  if (section[0] != kTableIdPmt || same_bytes(section, last_pmt_)) return;
  const core::Result<Pmt> pmt = parse_pmt(section);
  if (!pmt) {
    ++stats_.psi_errors;
    return;
  }
  // Another program's PMT may share the PID; one not yet in force waits.
  if (pmt.value().program_number != program_number_ || !pmt.value().current) return;
  last_pmt_.assign(section.begin(), section.end());
  apply_pmt(pmt.value());
}

void TsDemuxer::apply_pmt(const Pmt& pmt) {
  std::vector<ProgramStream> wanted;
  for (const PmtStream& s : pmt.streams) {
    if (s.pid == kPatPid || s.pid == kNullPid || s.pid == pmt_pid_) continue;
    if (!is_supported_stream_type(s.stream_type)) {
      report_unsupported(s.pid, s.stream_type);
      continue;
    }
    const bool listed = std::any_of(wanted.begin(), wanted.end(),
                                    [&](const ProgramStream& w) { return w.pid == s.pid; });
    if (!listed) wanted.push_back({s.pid, s.stream_type});
  }

  // Streams whose PID and type stay keep their state (a PES in progress goes
  // on); a PID whose type changed starts over; the rest end.
  std::vector<ElementaryStream> next;
  next.reserve(wanted.size());
  std::vector<bool> kept(streams_.size(), false);
  for (const ProgramStream& w : wanted) {
    const std::uint16_t index = stream_index_[w.pid];
    if (index != 0 && streams_[index - 1].pes.stream_type() == w.stream_type) {
      kept[index - 1] = true;
      next.push_back(std::move(streams_[index - 1]));
    } else {
      next.push_back({PesAssembler(w.pid, w.stream_type, *pool_), ContinuityCounter{}});
    }
  }
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (!kept[i]) streams_[i].pes.flush(*this);
  }
  streams_ = std::move(next);
  stream_index_.fill(0);
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    stream_index_[streams_[i].pes.pid()] = static_cast<std::uint16_t>(i + 1);
  }
  pcr_pid_ = pmt.pcr_pid;

  const bool changed = !program_reported_ || program_.streams != wanted ||
                       program_.pcr_pid != pmt.pcr_pid || program_.pmt_pid != pmt_pid_ ||
                       program_.program_number != program_number_;
  program_.program_number = program_number_;
  program_.pmt_pid = pmt_pid_;
  program_.pcr_pid = pmt.pcr_pid;
  program_.version = pmt.version;
  program_.streams = std::move(wanted);
  if (changed) {
    program_reported_ = true;
    if (callbacks_.on_program) callbacks_.on_program(program_);
  }
}

void TsDemuxer::report_unsupported(std::uint16_t pid, std::uint8_t stream_type) {
  const std::uint32_t key = (std::uint32_t{pid} << 8) | stream_type;
  const auto it = std::lower_bound(unsupported_reported_.begin(), unsupported_reported_.end(), key);
  if (it != unsupported_reported_.end() && *it == key) return;
  if (unsupported_reported_.size() >= kMaxUnsupportedReported) return;
  unsupported_reported_.insert(it, key);
  if (callbacks_.on_unsupported_stream) callbacks_.on_unsupported_stream(pid, stream_type);
}

// ---------------------------------------------------------------------------
// PES

void TsDemuxer::on_pes_complete(PesPacket& packet) {
  ++stats_.pes_delivered;
  if (callbacks_.on_pes) callbacks_.on_pes(packet);
}

void TsDemuxer::on_pes_error(std::uint16_t /*pid*/, PesError error) {
  switch (error) {
    case PesError::kBadHeader:
      ++stats_.pes_errors;
      break;
    case PesError::kTruncated:
      ++stats_.pes_truncated;
      break;
    case PesError::kOversized:
      ++stats_.pes_oversized;
      break;
    case PesError::kTimestampMarker:
      ++stats_.timestamp_marker_errors;
      break;
  }
}

}  // namespace mirror::ingest
