// The S3 client against a real S3-compatible server (s3rver, which checks
// SigV4 signatures) on loopback: bytes go up and come back the same, batched
// deletes remove them, and a wrong secret, a missing bucket or a server that
// is down each give an error that names the cause, without a crash or a hang.
#include "integration/mirror_fixture.h"
#include "storage/s3/s3_client.h"
#include "support/s3rver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;
using storage::s3::S3Client;
using storage::s3::S3Settings;

S3Settings settings_for(const S3rver& server, const std::string& bucket = "mirror-test") {
  S3Settings s;
  s.endpoint = server.endpoint();
  s.bucket = bucket;
  s.access_key_id = "S3RVER";
  s.secret_access_key = "S3RVER";
  s.connect_timeout = 2000ms;
  s.request_timeout = 10000ms;
  return s;
}

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

std::string as_string(const std::vector<std::byte>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("s3rver");
    server_ = std::make_unique<S3rver>(source_dir(), dir_, "mirror-test");
    if (!server_->ready()) GTEST_SKIP() << "node or npm @20minutes/s3rver missing";
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<S3rver> server_;
};

// A segment above the part size (a 60 Mbit/s stream's 2 s segment is 15 MB)
// goes up in parts and comes back whole; below it, in one PUT.
TEST_F(S3ClientTest, LargeObjectsGoUpInPartsAndComeBackWhole) {
  S3Client client(settings_for(*server_));
  const auto big = random_bytes(13 << 20, 7);  // 5 MiB + 5 MiB + 3 MiB
  auto up = client.upload("cam/source/2026-12-03/42.m4s", big, "video/iso.segment", 5 << 20);
  ASSERT_TRUE(up) << up.error().message;
  auto got = client.get_object("cam/source/2026-12-03/42.m4s");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(*got == as_string(big)) << "came back with " << got->size() << " bytes";
  const auto small = random_bytes(1000, 8);
  ASSERT_TRUE(client.upload("cam/source/2026-12-03/43.m4s", small, "video/iso.segment", 5 << 20));
  EXPECT_TRUE(*client.get_object("cam/source/2026-12-03/43.m4s") == as_string(small));
  // A wrong secret fails at the first step, and says why.
  auto s = settings_for(*server_);
  s.secret_access_key = "wrong";
  S3Client wrong(s);
  auto refused = wrong.upload("cam/source/2026-12-03/44.m4s", big, "video/iso.segment", 5 << 20);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("credentials are wrong"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(client.get_object("cam/source/2026-12-03/44.m4s")) << "nothing stored";
}

TEST_F(S3ClientTest, ObjectsGoUpAndComeBackByteForByte) {
  S3Client client(settings_for(*server_));
  ASSERT_TRUE(client.check_bucket()) << client.check_bucket().error().message;
  // A segment-sized object of every byte value, an empty one, and a key
  // with characters a URL must escape.
  const auto segment = random_bytes(3 << 20, 1);
  const std::vector<std::pair<std::string, std::vector<std::byte>>> objects = {
      {"cam1/360p/2026-12-03/17.m4s", segment},
      {"cam1/360p/init-1.mp4", random_bytes(1200, 2)},
      {"cam1/empty", {}},
      {"cam 2/odd+key=&?.m4s", random_bytes(777, 3)}};
  for (const auto& [key, bytes] : objects) {
    auto put = client.put_object(key, bytes, "video/iso.segment");
    ASSERT_TRUE(put) << key << ": " << put.error().message;
  }
  for (const auto& [key, bytes] : objects) {
    auto got = client.get_object(key);
    ASSERT_TRUE(got) << key << ": " << got.error().message;
    EXPECT_TRUE(*got == as_string(bytes)) << key << " came back different (" << got->size() << " bytes)";
  }
  std::vector<std::string> keys;
  for (const auto& [key, bytes] : objects) keys.push_back(key);
  auto deleted = client.delete_objects(keys);
  ASSERT_TRUE(deleted) << deleted.error().message;
  auto gone = client.get_object("cam1/360p/2026-12-03/17.m4s");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().details.value("s3_code", ""), "NoSuchKey");
}

TEST_F(S3ClientTest, AWrongSecretIsNamedAndNothingIsStored) {
  auto s = settings_for(*server_);
  s.secret_access_key = "not-the-secret";
  S3Client client(s);
  const auto bytes = random_bytes(1000, 4);
  auto put = client.put_object("cam1/seg.m4s", bytes, "video/iso.segment");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, core::ErrorCode::kUnauthorized) << put.error().message;
  EXPECT_EQ(put.error().details.value("s3_code", ""), "SignatureDoesNotMatch") << put.error().to_json_string();
  EXPECT_EQ(put.error().details.value("status", 0), 403);
  EXPECT_NE(put.error().message.find("credentials"), std::string::npos) << put.error().message;
  // The right client finds nothing there.
  S3Client right(settings_for(*server_));
  EXPECT_FALSE(right.get_object("cam1/seg.m4s"));
}

TEST_F(S3ClientTest, AMissingBucketIsNamed) {
  S3Client client(settings_for(*server_, "no-such-bucket"));
  auto check = client.check_bucket();
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(check.error().details.value("s3_code", ""), "NoSuchBucket") << check.error().to_json_string();
  EXPECT_NE(check.error().message.find("storage.s3.bucket"), std::string::npos) << check.error().message;
}

TEST_F(S3ClientTest, AServerThatIsDownFailsWithinTheTimeoutAndTheClientRecovers) {
  S3Client client(settings_for(*server_));
  ASSERT_TRUE(client.put_object("a", random_bytes(10, 5), "application/octet-stream"));
  server_->stop();
  const auto before = std::chrono::steady_clock::now();
  auto put = client.put_object("b", random_bytes(10, 6), "application/octet-stream");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_NE(put.error().message.find("cannot reach"), std::string::npos) << put.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 15s) << "bounded by the request timeout";
  // Back on the same port with the same data: the same client goes on.
  ASSERT_TRUE(server_->start());
  auto again = client.put_object("b", random_bytes(10, 6), "application/octet-stream");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(client.get_object("a"));
}

}  // namespace
}  // namespace mirror::testing
