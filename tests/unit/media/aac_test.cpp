#include "media/aac.h"

#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <vector>

namespace mirror::media {
namespace {

// An ADTS header: MPEG-4, layer 0, the given fields.
Bytes adts_header(int object_type, int sr_index, int channels, int frame_length, bool crc = false,
                  int raw_blocks = 0) {
  testing::BitWriter w;
  w.bits(0xfff, 12).bit(false).bits(0, 2).bit(!crc);
  w.bits(static_cast<std::uint64_t>(object_type - 1), 2)
      .bits(static_cast<std::uint64_t>(sr_index), 4);
  w.bit(false).bits(static_cast<std::uint64_t>(channels), 3).bit(false).bit(false);
  w.bit(false).bit(false).bits(static_cast<std::uint64_t>(frame_length), 13).bits(0x7ff, 11);
  w.bits(static_cast<std::uint64_t>(raw_blocks), 2);
  if (crc) w.bits(0xbeef, 16);
  return w.bytes();
}

TEST(AdtsHeaderTest, ParsesRealFfmpegHeader) {
  // The first frame of an ffmpeg 48 kHz stereo AAC-LC stream.
  const Bytes header = {0xff, 0xf1, 0x4c, 0x80, 0x24, 0xff, 0xfc};
  auto h = parse_adts_header(header);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->header_length, 7);
  EXPECT_TRUE(h->protection_absent);
  EXPECT_FALSE(h->mpeg2);
  EXPECT_EQ(h->object_type, 2);
  EXPECT_EQ(h->sample_rate_index, 3);
  EXPECT_EQ(h->sample_rate, 48000);
  EXPECT_EQ(h->channel_config, 2);
  EXPECT_EQ(h->frame_length, 295);
  EXPECT_EQ(h->number_of_raw_data_blocks, 0);
  EXPECT_TRUE(read_adts_header(header));
}

TEST(AdtsHeaderTest, ParsesCrcHeaderAndRawBlocks) {
  const Bytes header = adts_header(1, 4, 6, 1000, true, 3);
  auto h = parse_adts_header(header);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->header_length, 9);
  EXPECT_FALSE(h->protection_absent);
  EXPECT_EQ(h->object_type, 1);
  EXPECT_EQ(h->sample_rate, 44100);
  EXPECT_EQ(h->channel_config, 6);
  EXPECT_EQ(h->frame_length, 1000);
  EXPECT_EQ(h->number_of_raw_data_blocks, 3);
}

TEST(AdtsHeaderTest, ParsesLargestFrameLengthAndChannelSeven) {
  auto h = parse_adts_header(adts_header(2, 11, 7, 8191));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->frame_length, kAdtsMaxFrameLength);
  EXPECT_EQ(h->sample_rate, 8000);
  EXPECT_EQ(aac_channel_count(h->channel_config), 8);
}

TEST(AdtsHeaderTest, RejectsBadSyncLayerIndexAndLength) {
  Bytes bad_sync = adts_header(2, 3, 2, 100);
  bad_sync[1] = 0xe1;
  EXPECT_FALSE(parse_adts_header(bad_sync));
  Bytes bad_layer = adts_header(2, 3, 2, 100);
  bad_layer[1] |= 0x02;
  EXPECT_FALSE(parse_adts_header(bad_layer));
  EXPECT_FALSE(read_adts_header(bad_layer));
  EXPECT_FALSE(parse_adts_header(adts_header(2, 13, 2, 100))) << "index 13";
  EXPECT_FALSE(parse_adts_header(adts_header(2, 15, 2, 100))) << "index 15";
  EXPECT_FALSE(read_adts_header(adts_header(2, 15, 2, 100)));
  EXPECT_FALSE(parse_adts_header(adts_header(2, 3, 2, 6))) << "shorter than the header";
  EXPECT_FALSE(parse_adts_header(adts_header(2, 3, 2, 8, true))) << "shorter than the CRC header";
  EXPECT_TRUE(parse_adts_header(adts_header(2, 3, 2, 7))) << "an empty frame is still a frame";
}

TEST(AdtsHeaderTest, RejectsTruncatedHeaders) {
  const Bytes header = adts_header(2, 3, 2, 100);
  for (std::size_t n = 0; n < 7; ++n) {
    EXPECT_FALSE(parse_adts_header(std::span(header).first(n))) << n;
    EXPECT_FALSE(read_adts_header(std::span(header).first(n))) << n;
  }
  const Bytes crc = adts_header(2, 3, 2, 100, true);
  EXPECT_FALSE(parse_adts_header(std::span(crc).first(8)));
  EXPECT_TRUE(parse_adts_header(crc));
}

TEST(AdtsHeaderTest, FrameLengthMayExceedTheBuffer) {
  // The header alone is valid; whether the frame is complete is the framer's concern.
  auto h = parse_adts_header(adts_header(2, 3, 2, 5000));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->frame_length, 5000);
}

TEST(AacTablesTest, MapsSampleRatesAndChannels) {
  EXPECT_EQ(aac_sample_rate(0), 96000);
  EXPECT_EQ(aac_sample_rate(12), 7350);
  EXPECT_EQ(aac_sample_rate(13), 0);
  EXPECT_EQ(aac_sample_rate(-1), 0);
  EXPECT_EQ(aac_sample_rate_index(48000), 3);
  EXPECT_EQ(aac_sample_rate_index(44100), 4);
  EXPECT_EQ(aac_sample_rate_index(12345), -1);
  EXPECT_EQ(aac_channel_count(0), 0);
  EXPECT_EQ(aac_channel_count(2), 2);
  EXPECT_EQ(aac_channel_count(6), 6);
  EXPECT_EQ(aac_channel_count(8), 0);
}

TEST(AudioSpecificConfigTest, BuildsTheUsualTwoBytes) {
  auto lc_48k_stereo = build_audio_specific_config(2, 3, 2);
  ASSERT_TRUE(lc_48k_stereo);
  EXPECT_EQ(*lc_48k_stereo, (Bytes{0x11, 0x90}));
  auto lc_44k_stereo = build_audio_specific_config(2, 4, 2);
  ASSERT_TRUE(lc_44k_stereo);
  EXPECT_EQ(*lc_44k_stereo, (Bytes{0x12, 0x10}));
  auto main_8k_mono = build_audio_specific_config(1, 11, 1);
  ASSERT_TRUE(main_8k_mono);
  EXPECT_EQ(*main_8k_mono, (Bytes{0x0d, 0x88}));
}

TEST(AudioSpecificConfigTest, BuildsEscapedObjectTypes) {
  auto asc = build_audio_specific_config(42, 3, 2);  // USAC: 31 + 6 bits (10)
  ASSERT_TRUE(asc);
  ASSERT_EQ(asc->size(), 3u);
  auto parsed = parse_audio_specific_config(*asc);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->object_type, 42);
  EXPECT_EQ(parsed->sample_rate, 48000);
  EXPECT_EQ(parsed->channel_config, 2);
}

TEST(AudioSpecificConfigTest, BuilderRejectsValuesOutOfRange) {
  EXPECT_FALSE(build_audio_specific_config(0, 3, 2));
  EXPECT_FALSE(build_audio_specific_config(96, 3, 2));
  EXPECT_FALSE(build_audio_specific_config(2, 13, 2));
  EXPECT_FALSE(build_audio_specific_config(2, -1, 2));
  EXPECT_FALSE(build_audio_specific_config(2, 3, 16));
  EXPECT_FALSE(build_audio_specific_config(2, 3, -1));
}

TEST(AudioSpecificConfigTest, RoundTripsEveryRateAndChannelConfiguration) {
  for (int index = 0; index < 13; ++index) {
    for (int channels = 0; channels < 8; ++channels) {
      auto asc = build_audio_specific_config(2, index, channels);
      ASSERT_TRUE(asc);
      auto parsed = parse_audio_specific_config(*asc);
      ASSERT_TRUE(parsed);
      EXPECT_EQ(parsed->object_type, 2);
      EXPECT_EQ(parsed->sample_rate_index, index);
      EXPECT_EQ(parsed->sample_rate, aac_sample_rate(index));
      EXPECT_EQ(parsed->channel_config, channels);
    }
  }
}

TEST(AudioSpecificConfigTest, ParsesExplicitFrequency) {
  testing::BitWriter w;
  w.bits(2, 5).bits(15, 4).bits(50000, 24).bits(1, 4).bits(0, 3);
  auto asc = parse_audio_specific_config(w.bytes());
  ASSERT_TRUE(asc) << asc.error().message;
  EXPECT_EQ(asc->sample_rate_index, 15);
  EXPECT_EQ(asc->sample_rate, 50000);
  EXPECT_EQ(asc->channel_config, 1);
}

TEST(AudioSpecificConfigTest, ParsesExplicitSbrSignalling) {
  testing::BitWriter w;  // HE-AAC: SBR, 24 kHz core, 48 kHz output, then AAC-LC
  w.bits(5, 5).bits(6, 4).bits(2, 4).bits(3, 4).bits(2, 5).bits(0, 3);
  auto asc = parse_audio_specific_config(w.bytes());
  ASSERT_TRUE(asc) << asc.error().message;
  EXPECT_EQ(asc->object_type, 2);
  EXPECT_EQ(asc->extension_object_type, 5);
  EXPECT_EQ(asc->sample_rate, 24000);
  EXPECT_EQ(asc->extension_sample_rate, 48000);
}

TEST(AudioSpecificConfigTest, RejectsTruncatedAndReservedValues) {
  EXPECT_FALSE(parse_audio_specific_config(Bytes{}));
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0x11}));
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0xf8, 0x00})) << "escape without its 6 bits";
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0x17, 0x80}))
      << "frequency index 15, no frequency";
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0x16, 0x90})) << "reserved frequency index 13";
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0x01, 0x90})) << "object type 0";
  testing::BitWriter sbr;  // SBR with a reserved extension frequency index
  sbr.bits(5, 5).bits(6, 4).bits(2, 4).bits(13, 4).bits(2, 5).bits(0, 3);
  EXPECT_FALSE(parse_audio_specific_config(sbr.bytes()));
}

TEST(AacCodecStringTest, NamesObjectTypeInDecimal) {
  EXPECT_EQ(mp4a_codec_string(2), "mp4a.40.2");
  EXPECT_EQ(mp4a_codec_string(5), "mp4a.40.5");
  EXPECT_EQ(mp4a_codec_string(29), "mp4a.40.29");
}

}  // namespace
}  // namespace mirror::media
