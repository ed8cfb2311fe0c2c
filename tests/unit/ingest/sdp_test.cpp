// SDP parsing: the fields an RTP ingest needs, every rule that rejects a
// description (with the line named), and the fmtp helpers and base64.
#include "ingest/rtp/sdp.h"
#include "ingest/rtp/base64.h"
#include "ingest/rtp/sdp_codec_params.h"

#include <gtest/gtest.h>

#include <string>

namespace mirror::ingest {
namespace {

const char* kFfmpegH264 =
    "v=0\n"
    "o=- 0 0 IN IP4 127.0.0.1\n"
    "s=No Name\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\n"
    "m=video 41000 RTP/AVP 96\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 packetization-mode=1; "
    "sprop-parameter-sets=Z2QADazZQUH7ARAAAAMAEAAAAwMg8UKZYA==,aO+Pyw==; "
    "profile-level-id=64000D\n";

std::string with_media(const std::string& media_lines) {
  return "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" + media_lines;
}

// The error of parsing `text`, which must fail.
core::Error failure(const std::string& text) {
  auto r = parse_sdp(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidInput);
  return r.error();
}

TEST(Sdp, ParsesFfmpegH264Description) {
  auto s = parse_sdp(kFfmpegH264);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->origin.address, "127.0.0.1");
  EXPECT_EQ(s->session_name, "No Name");
  EXPECT_EQ(s->connection_address, "127.0.0.1");
  ASSERT_EQ(s->media.size(), 1u);
  const auto& m = s->media[0];
  EXPECT_EQ(m.media, "video");
  EXPECT_EQ(m.port, 41000);
  EXPECT_EQ(m.protocol, "RTP/AVP");
  EXPECT_EQ(m.payload_type, 96);
  EXPECT_EQ(m.encoding, RtpEncoding::kH264);
  EXPECT_EQ(m.encoding_name, "H264");
  EXPECT_EQ(m.clock_rate, 90000u);
  EXPECT_EQ(m.connection_address, "127.0.0.1");
  EXPECT_EQ(m.fmtp_value("packetization-mode"), "1");
  EXPECT_EQ(m.fmtp_value("profile-level-id"), "64000D");
  EXPECT_EQ(m.line, 7);
  EXPECT_EQ(m.fmtp_line, 9);
  auto params = h264_rtp_parameters(m);
  ASSERT_TRUE(params.ok()) << params.error().message;
  ASSERT_EQ(params->parameter_sets.size(), 2u);
  EXPECT_EQ(params->parameter_sets[0][0], 0x67);
  EXPECT_EQ(params->parameter_sets[1][0], 0x68);
}

TEST(Sdp, ParsesAudioAndVideoWithMediaLevelAttributes) {
  auto s = parse_sdp(with_media(
      "a=control:*\r\na=sendonly\r\n"
      "m=audio 5006 RTP/AVP 0 97\r\nc=IN IP4 239.1.1.1/64\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
      "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\r\n"
      "a=control:trackID=2\r\na=recvonly\r\n"
      "m=video 5004/2 RTP/AVPF 33\r\n"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->control, "*");
  EXPECT_EQ(s->direction, MediaDirection::kSendOnly);
  ASSERT_EQ(s->media.size(), 2u);
  const auto& audio = s->media[0];
  // PT 0 (PCMU) is listed first but not supported: 97 is chosen.
  EXPECT_EQ(audio.payload_type, 97);
  EXPECT_EQ(audio.encoding, RtpEncoding::kMpeg4Generic);
  EXPECT_EQ(audio.channels, 2);
  EXPECT_EQ(audio.connection_address, "239.1.1.1");
  EXPECT_EQ(audio.control, "trackID=2");
  EXPECT_EQ(audio.direction, MediaDirection::kRecvOnly);
  const auto& video = s->media[1];
  EXPECT_EQ(video.port, 5004);
  EXPECT_EQ(video.port_count, 2);
  EXPECT_EQ(video.protocol, "RTP/AVPF");
  EXPECT_EQ(video.connection_address, "10.0.0.1");  // inherited
  EXPECT_EQ(video.direction, MediaDirection::kSendOnly);
}

TEST(Sdp, StaticPayloadType33WithoutRtpmapIsMp2t) {
  auto s = parse_sdp(with_media("m=video 1234 RTP/AVP 33\r\n"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->media[0].encoding, RtpEncoding::kMp2t);
  EXPECT_EQ(s->media[0].encoding_name, "MP2T");
  EXPECT_EQ(s->media[0].clock_rate, 90000u);
}

TEST(Sdp, FmtpToleratesSpacesAndCase) {
  auto s =
      parse_sdp(with_media("m=video 1 RTP/AVP 96\na=rtpmap:96 h264/90000\n"
                           "a=fmtp:96   Packetization-Mode = 1 ;;  "
                           "sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA== ; \n"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->media[0].encoding_name, "H264");
  EXPECT_EQ(s->media[0].fmtp_value("packetization-mode"), "1");
  EXPECT_EQ(s->media[0].fmtp_value("sprop-parameter-sets"), "Z0IAH5WoFAFuQA==,aM48gA==");
}

TEST(Sdp, AcceptsBareNewlinesAndBlankTrailingLines) {
  std::string text = kFfmpegH264;
  text += "\n\n";
  EXPECT_TRUE(parse_sdp(text).ok());
  std::string crlf;
  for (char c : std::string(kFfmpegH264)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_TRUE(parse_sdp(crlf).ok());
}

TEST(Sdp, RejectsMissingVersion) {
  EXPECT_NE(failure("o=- 0 0 IN IP4 1.2.3.4\nm=video 1 RTP/AVP 33\n").message.find("line 1"),
            std::string::npos);
  EXPECT_NE(failure("v=1\nm=video 1 RTP/AVP 33\n").message.find("v=0"), std::string::npos);
  failure("");
  failure("\n\n");
}

TEST(Sdp, RejectsLineWithoutEquals) {
  const auto e = failure(with_media("m=video 1 RTP/AVP 33\r\nthis is not sdp\r\n"));
  EXPECT_NE(e.message.find("line 7"), std::string::npos) << e.message;
  EXPECT_EQ(e.details["line"], 7);
  failure("v=0\nm:video\n");
  failure("v=0\nM=video 1 RTP/AVP 33\n");
}

TEST(Sdp, RejectsMediaLineWithoutPayloadTypes) {
  const auto e = failure(with_media("m=video 5004 RTP/AVP\r\n"));
  EXPECT_NE(e.message.find("line 6"), std::string::npos);
  EXPECT_NE(e.message.find("payload"), std::string::npos);
  failure(with_media("m=video 5004\r\n"));
}

TEST(Sdp, RejectsPortOutOfRange) {
  EXPECT_NE(failure(with_media("m=video 65536 RTP/AVP 33\r\n")).message.find("port"),
            std::string::npos);
  failure(with_media("m=video -1 RTP/AVP 33\r\n"));
  failure(with_media("m=video 99999999999999999999 RTP/AVP 33\r\n"));
  failure(with_media("m=video 65535/2 RTP/AVP 33\r\n"));
  failure(with_media("m=video 5004/0 RTP/AVP 33\r\n"));
  failure(with_media("m=video abc RTP/AVP 33\r\n"));
}

TEST(Sdp, RejectsOtherProtocolsAndBadPayloadTypes) {
  failure(with_media("m=video 5004 RTP/SAVP 96\r\n"));
  failure(with_media("m=video 5004 udp 33\r\n"));
  failure(with_media("m=video 5004 RTP/AVP 128\r\n"));
  failure(with_media("m=video 5004 RTP/AVP x\r\n"));
}

TEST(Sdp, RejectsAbsurdlyLongInput) {
  std::string text = with_media("m=video 1 RTP/AVP 33\r\n");
  while (text.size() <= kMaxSdpSize)
    text += "a=x-filler:0123456789012345678901234567890123456789\r\n";
  const auto e = failure(text);
  EXPECT_NE(e.message.find("exceeds"), std::string::npos);
}

TEST(Sdp, RejectsUnsupportedEncodingNamingIt) {
  const auto e = failure(with_media("m=audio 5004 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"));
  EXPECT_NE(e.message.find("OPUS"), std::string::npos) << e.message;
  EXPECT_NE(failure(with_media("m=audio 5004 RTP/AVP 0\r\n")).message.find("PCMU"),
            std::string::npos);
}

TEST(Sdp, RejectsDynamicPayloadTypeWithoutRtpmap) {
  EXPECT_NE(failure(with_media("m=video 5004 RTP/AVP 96\r\n")).message.find("rtpmap"),
            std::string::npos);
}

TEST(Sdp, RejectsMalformedRtpmapAndFmtp) {
  const std::string m = "m=video 5004 RTP/AVP 96\r\n";
  failure(with_media(m + "a=rtpmap:96 H264\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/0\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/abc\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/90000/0\r\n"));
  failure(with_media(m + "a=rtpmap:300 H264/90000\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/90000\r\na=rtpmap:96 H264/90000\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/90000\r\na=fmtp:xx a=b\r\n"));
  failure(with_media(m + "a=rtpmap:96 H264/90000\r\na=fmtp:96 =b\r\n"));
  failure(with_media("a=rtpmap:96 H264/90000\r\n" + m));  // before any m=
}

TEST(Sdp, RejectsMalformedSessionLines) {
  failure("v=0\no=- 0 0 IN IP4\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nc=IN IP4\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nc=XX IP4 1.2.3.4\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nc=IN IPX 1.2.3.4\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nc=IN IP4 1.2.3.400\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nc=IN IP4 1.2.3\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nt=0\nm=video 1 RTP/AVP 33\n");
  failure("v=0\nv=0\nm=video 1 RTP/AVP 33\n");
  failure(std::string("v=0\ns=a\0b\nm=video 1 RTP/AVP 33\n", 31));
  failure("v=0\ns=no media\n");
}

TEST(SdpCodecParams, RejectsBadParameterSets) {
  const std::string m = "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
  for (const char* fmtp :
       {"a=fmtp:96 sprop-parameter-sets=Z0IA!!==\r\n",
        "a=fmtp:96 sprop-parameter-sets=Z0IA,,aM4=\r\n", "a=fmtp:96 sprop-parameter-sets=\r\n",
        "a=fmtp:96 sprop-parameter-sets=gA==\r\n", "a=fmtp:96 packetization-mode=2\r\n",
        "a=fmtp:96 packetization-mode=x\r\n"}) {
    auto s = parse_sdp(with_media(m + fmtp));
    ASSERT_TRUE(s.ok()) << fmtp;
    auto p = h264_rtp_parameters(s->media[0]);
    ASSERT_FALSE(p.ok()) << fmtp;
    EXPECT_NE(p.error().message.find("line 8"), std::string::npos) << p.error().message;
  }
}

TEST(SdpCodecParams, HelpersRefuseTheWrongEncoding) {
  auto s = parse_sdp(kFfmpegH264);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(hevc_rtp_parameters(s->media[0]).ok());
  EXPECT_FALSE(aac_rtp_parameters(s->media[0]).ok());
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*decode_base64("aGVsbG8="), (std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(*decode_base64("aGVsbG8"), (std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(*decode_base64("aGVsbA=="), (std::vector<std::uint8_t>{'h', 'e', 'l', 'l'}));
  EXPECT_EQ(*decode_base64("+/+/"), (std::vector<std::uint8_t>{0xfb, 0xff, 0xbf}));
  EXPECT_TRUE(decode_base64("")->empty());
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(decode_base64("a").has_value());
  EXPECT_FALSE(decode_base64("aGVsbG8=x").has_value());
  EXPECT_FALSE(decode_base64("aG=sbG8=").has_value());
  EXPECT_FALSE(decode_base64("aGVsbA===").has_value());
  EXPECT_FALSE(decode_base64("aGV sbA==").has_value());
  EXPECT_FALSE(decode_base64("aGVsbG8==").has_value());
}

}  // namespace
}  // namespace mirror::ingest
