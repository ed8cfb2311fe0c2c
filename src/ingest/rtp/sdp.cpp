#include "ingest/rtp/sdp.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

namespace mirror::ingest {
namespace {

core::Error sdp_error(int line, std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput,
                     "sdp line " + std::to_string(line) + ": " + message, {{"line", line}});
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// A decimal number in [0, max]; nothing else on the field.
template <class T>
std::optional<T> parse_number(std::string_view s, T max) {
  T value{};
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

// "IN IP4 192.0.2.1/127" -> "192.0.2.1".
core::Result<std::string> parse_connection(std::string_view value, int line) {
  const auto words = split_words(value);
  if (words.size() != 3) return sdp_error(line, "c= needs <nettype> <addrtype> <address>");
  if (words[0] != "IN") return sdp_error(line, "c= network type must be IN");
  if (words[1] != "IP4" && words[1] != "IP6")
    return sdp_error(line, "c= address type must be IP4 or IP6");
  std::string_view address = words[2].substr(0, words[2].find('/'));
  if (address.empty()) return sdp_error(line, "c= address is empty");
  if (words[1] == "IP4") {
    const bool numeric = std::all_of(address.begin(), address.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric) {
      int parts = 0;
      std::size_t start = 0;
      while (start <= address.size()) {
        const std::size_t dot = std::min(address.find('.', start), address.size());
        if (!parse_number<unsigned>(address.substr(start, dot - start), 255)) {
          return sdp_error(line, "c= bad IPv4 address '" + std::string(address) + "'");
        }
        ++parts;
        start = dot + 1;
      }
      if (parts != 4) return sdp_error(line, "c= bad IPv4 address '" + std::string(address) + "'");
    }
  }
  return std::string(address);
}

std::optional<MediaDirection> direction_of(std::string_view name) {
  if (name == "sendrecv") return MediaDirection::kSendRecv;
  if (name == "sendonly") return MediaDirection::kSendOnly;
  if (name == "recvonly") return MediaDirection::kRecvOnly;
  if (name == "inactive") return MediaDirection::kInactive;
  return std::nullopt;
}

std::optional<RtpEncoding> encoding_of(std::string_view upper_name) {
  if (upper_name == "H264") return RtpEncoding::kH264;
  if (upper_name == "H265") return RtpEncoding::kHevc;
  if (upper_name == "MPEG4-GENERIC") return RtpEncoding::kMpeg4Generic;
  if (upper_name == "MP2T") return RtpEncoding::kMp2t;
  return std::nullopt;
}

// RFC 3551 names of static payload types, for error messages.
std::string static_payload_name(int pt) {
  switch (pt) {
    case 0:
      return "PCMU";
    case 8:
      return "PCMA";
    case 9:
      return "G722";
    case 14:
      return "MPA";
    case 26:
      return "JPEG";
    case 31:
      return "H261";
    case 32:
      return "MPV";
    case 34:
      return "H263";
    default:
      return "static payload type " + std::to_string(pt);
  }
}

// Per media section while parsing: fmtp of every payload type.
struct PendingMedia {
  MediaDescription media;
  std::map<int, std::pair<std::map<std::string, std::string>, int>> fmtps;
  bool has_connection = false;
  bool has_direction = false;
};

core::Status parse_media_line(std::string_view value, int line, MediaDescription& media) {
  const auto words = split_words(value);
  if (words.size() < 3) return sdp_error(line, "m= needs <media> <port> <proto> <fmt>...");
  if (words.size() < 4) return sdp_error(line, "m= lists no payload type");
  media.media = std::string(words[0]);
  media.line = line;
  const std::string_view port_field = words[1];
  const std::size_t slash = port_field.find('/');
  const auto port = parse_number<std::uint32_t>(port_field.substr(0, slash), 65535);
  if (!port) return sdp_error(line, "m= port '" + std::string(port_field) + "' out of range");
  media.port = static_cast<std::uint16_t>(*port);
  if (slash != std::string_view::npos) {
    const auto count = parse_number<std::uint32_t>(port_field.substr(slash + 1), 65535);
    if (!count || *count == 0 || *port + *count - 1 > 65535) {
      return sdp_error(line, "m= port count '" + std::string(port_field) + "' out of range");
    }
    media.port_count = static_cast<std::uint16_t>(*count);
  }
  const std::string proto = upper(words[2]);
  if (proto != "RTP/AVP" && proto != "RTP/AVPF") {
    return sdp_error(line, "m= protocol '" + std::string(words[2]) + "' is not RTP/AVP");
  }
  media.protocol = proto;
  for (std::size_t i = 3; i < words.size(); ++i) {
    const auto pt = parse_number<int>(words[i], 127);
    if (!pt) return sdp_error(line, "m= payload type '" + std::string(words[i]) + "' is not 0-127");
    media.payload_types.push_back(*pt);
  }
  return core::Ok{};
}

core::Status parse_rtpmap(std::string_view value, int line, MediaDescription& media) {
  const auto words = split_words(value);
  if (words.size() != 2)
    return sdp_error(line, "a=rtpmap needs <pt> <encoding>/<clock>[/<channels>]");
  const auto pt = parse_number<int>(words[0], 127);
  if (!pt)
    return sdp_error(line, "a=rtpmap payload type '" + std::string(words[0]) + "' is not 0-127");
  RtpMapEntry entry;
  entry.payload_type = *pt;
  entry.line = line;
  const std::string_view spec = words[1];
  const std::size_t s1 = spec.find('/');
  if (s1 == std::string_view::npos || s1 == 0) return sdp_error(line, "a=rtpmap has no clock rate");
  entry.encoding_name = std::string(spec.substr(0, s1));
  const std::string_view rest = spec.substr(s1 + 1);
  const std::size_t s2 = rest.find('/');
  const auto clock = parse_number<std::uint32_t>(rest.substr(0, s2), 0xffffffffu);
  if (!clock || *clock == 0)
    return sdp_error(line,
                     "a=rtpmap clock rate '" + std::string(rest.substr(0, s2)) + "' is invalid");
  entry.clock_rate = *clock;
  if (s2 != std::string_view::npos) {
    const auto channels = parse_number<int>(rest.substr(s2 + 1), 255);
    if (!channels || *channels == 0) return sdp_error(line, "a=rtpmap channel count is invalid");
    entry.channels = *channels;
  }
  for (const auto& existing : media.rtpmaps) {
    if (existing.payload_type == entry.payload_type) {
      return sdp_error(line, "a=rtpmap repeats payload type " + std::to_string(entry.payload_type));
    }
  }
  media.rtpmaps.push_back(std::move(entry));
  return core::Ok{};
}

// "96 packetization-mode=1; sprop-parameter-sets=Z0IA,aM4=" (spaces tolerated).
core::Status parse_fmtp(std::string_view value, int line, PendingMedia& pending) {
  value = trim(value);
  const std::size_t space = value.find_first_of(" \t");
  const auto pt = parse_number<int>(value.substr(0, space), 127);
  if (!pt) return sdp_error(line, "a=fmtp payload type is not 0-127");
  if (pending.fmtps.count(*pt))
    return sdp_error(line, "a=fmtp repeats payload type " + std::to_string(*pt));
  std::map<std::string, std::string> params;
  std::string_view rest =
      space == std::string_view::npos ? std::string_view() : value.substr(space);
  while (!rest.empty()) {
    const std::size_t semi = rest.find(';');
    const std::string_view item = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string key = lower(trim(item.substr(0, eq)));
    if (key.empty()) return sdp_error(line, "a=fmtp has a parameter without a name");
    const std::string_view val =
        eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    params[key] = std::string(val);
  }
  pending.fmtps[*pt] = {std::move(params), line};
  return core::Ok{};
}

// Picks the first listed payload type Mirror can depacketize.
core::Status choose_format(PendingMedia& pending) {
  MediaDescription& media = pending.media;
  std::string first_unsupported;
  for (int pt : media.payload_types) {
    const RtpMapEntry* map = nullptr;
    for (const auto& entry : media.rtpmaps) {
      if (entry.payload_type == pt) map = &entry;
    }
    std::string name;
    std::uint32_t clock = 0;
    int channels = 0;
    if (map) {
      name = upper(map->encoding_name);
      clock = map->clock_rate;
      channels = map->channels;
    } else if (pt == 33) {
      name = "MP2T";
      clock = 90000;
    } else if (pt >= 96) {
      return sdp_error(media.line, "payload type " + std::to_string(pt) + " has no a=rtpmap");
    } else {
      name = static_payload_name(pt);
    }
    const auto encoding = encoding_of(name);
    if (!encoding) {
      if (first_unsupported.empty()) first_unsupported = name;
      continue;
    }
    media.payload_type = pt;
    media.encoding = *encoding;
    media.encoding_name = name;
    media.clock_rate = clock;
    media.channels = channels;
    auto it = pending.fmtps.find(pt);
    if (it != pending.fmtps.end()) {
      media.fmtp = std::move(it->second.first);
      media.fmtp_line = it->second.second;
    }
    return core::Ok{};
  }
  return sdp_error(media.line, "unsupported encoding '" + first_unsupported + "' for " +
                                   media.media + " (supported: H264, H265, MPEG4-GENERIC, MP2T)");
}

}  // namespace

std::string_view MediaDescription::fmtp_value(std::string_view key) const {
  auto it = fmtp.find(std::string(key));
  return it == fmtp.end() ? std::string_view() : std::string_view(it->second);
}

bool MediaDescription::has_fmtp(std::string_view key) const {
  return fmtp.find(std::string(key)) != fmtp.end();
}

core::Result<SessionDescription> parse_sdp(std::string_view text) {
  if (text.size() > kMaxSdpSize) {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "sdp: description of " + std::to_string(text.size()) + " bytes exceeds " +
                           std::to_string(kMaxSdpSize),
                       {{"size", text.size()}});
  }
  SessionDescription session;
  std::vector<PendingMedia> media;
  bool have_version = false;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return sdp_error(line_number, "expected <type>=<value>");
    }
    if (!printable(line)) return sdp_error(line_number, "control character in line");
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!have_version) {
      if (type != 'v' || trim(value) != "0")
        return sdp_error(line_number, "description must start with v=0");
      have_version = true;
      continue;
    }
    PendingMedia* current = media.empty() ? nullptr : &media.back();
    switch (type) {
      case 'v':
        return sdp_error(line_number, "repeated v= line");
      case 'o': {
        const auto words = split_words(value);
        if (words.size() != 6) return sdp_error(line_number, "o= needs 6 fields");
        session.origin = {std::string(words[0]), std::string(words[1]), std::string(words[2]),
                          std::string(words[3]), std::string(words[4]), std::string(words[5])};
        break;
      }
      case 's':
        if (!current) session.session_name = std::string(value);
        break;
      case 'c': {
        auto address = parse_connection(value, line_number);
        if (!address) return address.error();
        if (current) {
          current->media.connection_address = std::move(*address);
          current->has_connection = true;
        } else {
          session.connection_address = std::move(*address);
        }
        break;
      }
      case 't': {
        const auto words = split_words(value);
        const auto start =
            words.size() == 2 ? parse_number<std::uint64_t>(words[0], UINT64_MAX) : std::nullopt;
        const auto stop =
            words.size() == 2 ? parse_number<std::uint64_t>(words[1], UINT64_MAX) : std::nullopt;
        if (!start || !stop) return sdp_error(line_number, "t= needs <start> <stop>");
        session.start_time = *start;
        session.stop_time = *stop;
        break;
      }
      case 'm': {
        PendingMedia next;
        auto status = parse_media_line(value, line_number, next.media);
        if (!status) return status.error();
        media.push_back(std::move(next));
        break;
      }
      case 'a': {
        const std::size_t colon = value.find(':');
        const std::string_view name = value.substr(0, colon);
        const std::string_view arg =
            colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
        if (name == "rtpmap" || name == "fmtp") {
          if (!current)
            return sdp_error(line_number, "a=" + std::string(name) + " before any m= line");
          auto status = name == "rtpmap" ? parse_rtpmap(arg, line_number, current->media)
                                         : parse_fmtp(arg, line_number, *current);
          if (!status) return status.error();
        } else if (name == "control") {
          (current ? current->media.control : session.control) = std::string(trim(arg));
        } else if (auto direction = direction_of(name)) {
          if (current) {
            current->media.direction = *direction;
            current->has_direction = true;
          } else {
            session.direction = *direction;
          }
        }
        break;
      }
      default:
        // b=, i=, u=, e=, p=, z=, k=, r=: not needed to receive RTP.
        break;
    }
  }
  if (!have_version)
    return sdp_error(line_number == 0 ? 1 : line_number, "description must start with v=0");
  if (media.empty()) return sdp_error(line_number, "no m= line");
  for (auto& pending : media) {
    auto status = choose_format(pending);
    if (!status) return status.error();
    if (!pending.has_connection) pending.media.connection_address = session.connection_address;
    if (!pending.has_direction) pending.media.direction = session.direction;
    session.media.push_back(std::move(pending.media));
  }
  return session;
}

}  // namespace mirror::ingest
