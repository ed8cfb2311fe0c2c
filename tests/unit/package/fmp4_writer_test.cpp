#include "package/cmaf/fmp4_writer.h"

#include "package_test_util.h"

#include <gtest/gtest.h>

namespace mirror::package::cmaf {
namespace {

using testing::audio_config;
using testing::boxes;
using testing::video_config;

std::uint32_t be32(std::string_view d, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[at + 2])) << 8) |
         static_cast<std::uint8_t>(d[at + 3]);
}

// Depth-first: the path of box types down to `type`, or empty.
std::optional<testing::Box> find(std::string_view data, std::size_t begin, std::size_t end,
                                 const std::vector<std::string>& path) {
  auto level = boxes(data, begin, end);
  if (!level) return std::nullopt;
  for (const auto& b : *level) {
    if (b.type != path.front()) continue;
    if (path.size() == 1) return b;
    std::size_t inner = b.offset + b.header;
    // Sample description and entries carry fields before their children.
    if (b.type == "stsd") inner += 8;
    if (b.type == "avc1" || b.type == "hvc1") inner += 78;
    if (b.type == "mp4a") inner += 28;
    return find(data, inner, b.offset + b.size, {path.begin() + 1, path.end()});
  }
  return std::nullopt;
}

TEST(Fmp4WriterTest, VideoInitSegmentHasTheCmafBoxTree) {
  auto init = write_init_segment(*video_config());
  ASSERT_TRUE(init) << init.error().message;
  const std::string& d = *init;
  auto top = boxes(d, 0, d.size());
  ASSERT_TRUE(top);
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].type, "ftyp");
  EXPECT_EQ((*top)[1].type, "moov");
  for (const auto& path : std::vector<std::vector<std::string>>{
           {"moov", "mvhd"},
           {"moov", "trak", "tkhd"},
           {"moov", "trak", "mdia", "mdhd"},
           {"moov", "trak", "mdia", "hdlr"},
           {"moov", "trak", "mdia", "minf", "vmhd"},
           {"moov", "trak", "mdia", "minf", "dinf", "dref"},
           {"moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC"},
           {"moov", "trak", "mdia", "minf", "stbl", "stts"},
           {"moov", "mvex", "trex"}}) {
    EXPECT_TRUE(find(d, 0, d.size(), path)) << path.back();
  }
  auto mdhd = find(d, 0, d.size(), {"moov", "trak", "mdia", "mdhd"});
  EXPECT_EQ(be32(d, mdhd->offset + 20), 90000u);  // timescale
  auto tkhd = find(d, 0, d.size(), {"moov", "trak", "tkhd"});
  EXPECT_EQ(be32(d, tkhd->offset + 84) >> 16, 1280u);
  EXPECT_EQ(be32(d, tkhd->offset + 88) >> 16, 720u);
}

TEST(Fmp4WriterTest, AudioInitSegmentCarriesTheAudioSpecificConfig) {
  auto init = write_init_segment(*audio_config());
  ASSERT_TRUE(init) << init.error().message;
  auto esds = find(*init, 0, init->size(), {"moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4a", "esds"});
  ASSERT_TRUE(esds);
  const std::string_view body = std::string_view(*init).substr(esds->offset, esds->size);
  EXPECT_NE(body.find(std::string("\x05\x02\x11\x90", 4)), std::string_view::npos);
  EXPECT_TRUE(find(*init, 0, init->size(), {"moov", "trak", "mdia", "minf", "smhd"}));
}

TEST(Fmp4WriterTest, RefusesAVideoTrackWithoutParameterSets) {
  auto config = std::make_shared<media::CodecConfig>(*video_config());
  config->sps.clear();
  EXPECT_FALSE(write_init_segment(*config));
  auto audio = std::make_shared<media::CodecConfig>(*audio_config());
  audio->audio_specific_config.clear();
  EXPECT_FALSE(write_init_segment(*audio));
}

TEST(Fmp4WriterTest, FragmentHeaderPointsAtTheSamplesThatFollow) {
  std::vector<Sample> samples = {{1000, 3000, 0, true}, {500, 3000, 6000, false}, {700, 3000, -3000, false}};
  const std::string h = write_fragment_header(7, 1234567890123ULL, samples, media::TrackKind::kVideo);
  auto top = boxes(h, 0, h.size() - 8);
  ASSERT_TRUE(top);
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ((*top)[0].type, "moof");
  // The mdat header closes the string and counts the samples' bytes.
  EXPECT_EQ(h.substr(h.size() - 4), "mdat");
  EXPECT_EQ(be32(h, h.size() - 8), 8u + 2200u);
  auto mfhd = find(h, 0, h.size() - 8, {"moof", "mfhd"});
  EXPECT_EQ(be32(h, mfhd->offset + 12), 7u);
  auto tfdt = find(h, 0, h.size() - 8, {"moof", "traf", "tfdt"});
  ASSERT_TRUE(tfdt);
  EXPECT_EQ(static_cast<std::uint8_t>(h[tfdt->offset + 8]), 1);  // 64-bit version
  const std::uint64_t base = (std::uint64_t{be32(h, tfdt->offset + 12)} << 32) | be32(h, tfdt->offset + 16);
  EXPECT_EQ(base, 1234567890123ULL);
  auto trun = find(h, 0, h.size() - 8, {"moof", "traf", "trun"});
  ASSERT_TRUE(trun);
  // A negative composition offset needs trun version 1.
  EXPECT_EQ(static_cast<std::uint8_t>(h[trun->offset + 8]), 1);
  EXPECT_EQ(be32(h, trun->offset + 12), 3u);                // sample count
  EXPECT_EQ(be32(h, trun->offset + 16), h.size());          // data offset from moof start
  EXPECT_EQ(be32(h, trun->offset + 20), 3000u);             // first duration
  EXPECT_EQ(be32(h, trun->offset + 24), 1000u);             // first size
  EXPECT_EQ(be32(h, trun->offset + 28), 0x02000000u);       // sync sample
  EXPECT_EQ(be32(h, trun->offset + 44), 0x01010000u);  // second: not sync
  EXPECT_EQ(static_cast<std::int32_t>(be32(h, trun->offset + 64)), -3000);
}

TEST(Fmp4WriterTest, RaslSamplesAreUndecodableLeadingSamples) {
  Sample cra{1000, 3000, 0, true};
  Sample rasl{500, 3000, -3000, false};
  rasl.leading_undecodable = true;
  std::vector<Sample> samples = {cra, rasl};
  const std::string h = write_fragment_header(1, 0, samples, media::TrackKind::kVideo);
  auto trun = find(h, 0, h.size() - 8, {"moof", "traf", "trun"});
  ASSERT_TRUE(trun);
  EXPECT_EQ(be32(h, trun->offset + 28), 0x02000000u);  // the CRA: sync
  // is_leading 1 (depends on what precedes the sync sample), depends on
  // others, not a sync sample.
  EXPECT_EQ(be32(h, trun->offset + 44), 0x05010000u);
}

TEST(Fmp4WriterTest, AudioFragmentsCarryNoFlagsOrOffsets) {
  std::vector<Sample> samples = {{300, 1024, 0, true}, {310, 1024, 0, true}};
  const std::string h = write_fragment_header(1, 0, samples, media::TrackKind::kAudio);
  auto trun = find(h, 0, h.size() - 8, {"moof", "traf", "trun"});
  ASSERT_TRUE(trun);
  EXPECT_EQ(static_cast<std::uint8_t>(h[trun->offset + 8]), 0);
  EXPECT_EQ(be32(h, trun->offset + 8) & 0xffffff, 0x000301u);
  EXPECT_EQ(trun->size, 12u + 8u + 2 * 8u);
}

}  // namespace
}  // namespace mirror::package::cmaf
