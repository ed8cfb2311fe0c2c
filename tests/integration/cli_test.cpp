// The command line of the real binary: exit codes, usage, config check.
#include "mirror_fixture.h"

#include <gtest/gtest.h>

namespace mirror::testing {
namespace {

TEST(Cli, VersionPrintsVersionBuildTimeAndCommit) {
  auto r = run({mirror_binary(), "version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Version:"), std::string::npos);
  EXPECT_NE(r.out.find("Build Time:"), std::string::npos);
  EXPECT_NE(r.out.find("Git Commit:"), std::string::npos);
}

TEST(Cli, UnknownFlagIsUsageError) {
  auto r = run({mirror_binary(), "--no-such-flag"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Usage"), std::string::npos);
}

TEST(Cli, UnknownCommandIsUsageError) {
  auto r = run({mirror_binary(), "frobnicate"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Usage"), std::string::npos);
}

TEST(Cli, UnknownLogLevelIsUsageError) {
  auto r = run({mirror_binary(), "-l", "verbose", "version"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("verbose"), std::string::npos);
}

TEST(Cli, HelpExitsZero) {
  auto r = run({mirror_binary(), "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--config"), std::string::npos);
}

TEST(Cli, ConfigCheckAcceptsShippedConfigAndMasksSecrets) {
  auto r = run({mirror_binary(), "config", "check", "-c", source_dir() + "/configs/mirror.yaml"},
               {{"MIRROR_REDIS_PASSWORD", "hunter2-secret"}});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("admin_port: 8080"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hunter2-secret"), std::string::npos);
  EXPECT_NE(r.out.find("******"), std::string::npos);
}

TEST(Cli, ConfigCheckReportsEveryErrorAndExitsOne) {
  auto dir = make_temp_dir("mirror-cli");
  write_file(dir + "/bad.yaml",
             "server:\n  admin_port: 70000\ningestion:\n  max_streams: 0\n"
             "transcoding:\n  output_bitrate: 5000\n");
  auto r = run({mirror_binary(), "config", "check", "-c", dir + "/bad.yaml"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("server.admin_port"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("70000"), std::string::npos);
  EXPECT_NE(r.err.find("ingestion.max_streams"), std::string::npos);
  EXPECT_NE(r.err.find("transcoding.output_bitrate"), std::string::npos);
}

TEST(Cli, ConfigCheckWarnsAboutUnknownKeys) {
  auto dir = make_temp_dir("mirror-cli");
  write_file(dir + "/typo.yaml", "server:\n  admin_prot: 9000\n");
  auto r = run({mirror_binary(), "config", "check", "-c", dir + "/typo.yaml"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("server.admin_prot"), std::string::npos) << r.err;
}

TEST(Cli, ExplicitMissingConfigIsAnError) {
  auto r = run({mirror_binary(), "-c", "/nonexistent/mirror.yaml"}, {}, {},
               std::chrono::seconds(10));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/mirror.yaml"), std::string::npos);
}

TEST(Cli, EnvironmentOverrideWinsOverFile) {
  auto r = run({mirror_binary(), "config", "check", "-c", source_dir() + "/configs/mirror.yaml"},
               {{"MIRROR_SERVER_ADMIN_PORT", "9123"}});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("admin_port: 9123"), std::string::npos);
}

}  // namespace
}  // namespace mirror::testing
