#include "transcode/thumbnail.h"

#include <gtest/gtest.h>

#include <optional>

namespace mirror::transcode {
namespace {

using Clock = ThumbnailBox::Clock;
using Answer = std::optional<core::Result<core::SharedBytes>>;

ThumbnailBox::Reply capture(Answer& into) {
  return [&into](core::Result<core::SharedBytes> r) { into.emplace(std::move(r)); };
}

TEST(ThumbnailBoxTest, NotFoundBeforeTheFirstPicture) {
  ThumbnailBox box;
  Answer a;
  box.request(capture(a));
  ASSERT_TRUE(a.has_value());
  ASSERT_FALSE(*a);
  EXPECT_EQ(a->error().code, core::ErrorCode::kNotFound);
  EXPECT_FALSE(box.wanted());
}

TEST(ThumbnailBoxTest, AskingMakesTheWorkerEncodeAndEveryWaiterGetsIt) {
  ThumbnailBox box;
  box.set_picture_available();
  Answer a, b;
  box.request(capture(a));
  box.request(capture(b));
  EXPECT_FALSE(a.has_value());
  EXPECT_TRUE(box.wanted());
  box.publish(core::SharedBytes::from_string("jpeg-1"));
  ASSERT_TRUE(a && *a && b && *b);
  EXPECT_EQ((*a)->view(), "jpeg-1");
  EXPECT_EQ((*b)->view(), "jpeg-1");
  EXPECT_FALSE(box.wanted());
}

TEST(ThumbnailBoxTest, AFreshOneIsServedWithoutEncodingAgain) {
  ThumbnailBox box(std::chrono::seconds(2));
  box.set_picture_available();
  const auto t0 = Clock::now();
  box.publish(core::SharedBytes::from_string("jpeg-1"), t0);
  Answer a;
  box.request(capture(a), t0 + std::chrono::seconds(1));
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->view(), "jpeg-1");
  EXPECT_FALSE(box.wanted());
  // Older than the refresh interval: the next request asks for a new one.
  Answer b;
  box.request(capture(b), t0 + std::chrono::seconds(3));
  EXPECT_FALSE(b.has_value());
  EXPECT_TRUE(box.wanted());
}

TEST(ThumbnailBoxTest, AWaiterPastItsTimeGetsTheLastOneOrUnavailable) {
  ThumbnailBox box(std::chrono::seconds(2));
  box.set_picture_available();
  const auto t0 = Clock::now();
  Answer a;
  box.request(capture(a), t0, std::chrono::seconds(1));
  box.expire(t0 + std::chrono::milliseconds(500));
  EXPECT_FALSE(a.has_value());
  box.expire(t0 + std::chrono::seconds(2));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->error().code, core::ErrorCode::kServiceUnavailable);

  box.publish(core::SharedBytes::from_string("old"), t0);
  Answer b;
  box.request(capture(b), t0 + std::chrono::seconds(5), std::chrono::seconds(1));
  box.expire(t0 + std::chrono::seconds(7));
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->view(), "old");
}

TEST(ThumbnailBoxTest, ClosingAnswersEveryWaiter) {
  ThumbnailBox box;
  box.set_picture_available();
  Answer a;
  box.request(capture(a));
  box.close();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->error().code, core::ErrorCode::kNotFound);
  Answer b;
  box.request(capture(b));
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(*b);
}

}  // namespace
}  // namespace mirror::transcode
