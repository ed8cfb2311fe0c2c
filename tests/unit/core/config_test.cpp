#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/config_schema.h"

namespace mirror::core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// A directory of its own for each test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("mirror_config_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write_file(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  // Defaults, with the directories inside the test's own directory so that
  // the file-system rules do not depend on the machine.
  Config valid_config() const {
    Config config;
    config.server.data_dir = path("data");
    config.storage.local.cache_dir = path("cache");
    return config;
  }

  // validate() of a valid config with one change applied.
  template <class Change>
  std::vector<std::string> violations_after(Change change) const {
    Config config = valid_config();
    change(config);
    return validate(config);
  }

  fs::path dir_;
};

using ConfigYamlTest = ConfigTest;
using ConfigEnvTest = ConfigTest;
using ConfigFileTest = ConfigTest;
using ConfigValidateTest = ConfigTest;
using ConfigToYamlTest = ConfigTest;

// A message that starts with the key and names the bad value.
auto names(const std::string& key, const std::string& value) {
  return Contains(AllOf(StartsWith(key + ": "), HasSubstr(value)));
}

LoadedConfig load(std::string_view yaml, const Environment& env = {}) {
  return load_config_from_string(yaml, env);
}

// ---------------------------------------------------------------------------
// Defaults and the shipped file

TEST_F(ConfigTest, DefaultsAreValid) {
  EXPECT_THAT(validate(valid_config()), IsEmpty());
}

TEST_F(ConfigTest, ShippedConfigLoadsWithoutWarningsAndEqualsDefaults) {
  const char* source_dir = std::getenv("MIRROR_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "the test environment sets MIRROR_SOURCE_DIR";
  const LoadedConfig loaded =
      load_config(std::string(source_dir) + "/configs/mirror.yaml", true, {});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_FALSE(loaded.used_defaults);
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigTest, ShippedClusterConfigsAreValidAndKeepOutOfEachOthersWay) {
  const char* source_dir = std::getenv("MIRROR_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  std::set<int> ports;
  std::set<std::string> ids, dirs;
  for (const char* node : {"a", "b", "c"}) {
    const std::string path = std::string(source_dir) + "/configs/cluster/node-" + node + ".yaml";
    const LoadedConfig loaded = load_config(path, true, {});
    EXPECT_THAT(loaded.errors, IsEmpty()) << path;
    EXPECT_THAT(loaded.warnings, IsEmpty()) << path;
    EXPECT_THAT(validate(loaded.config), IsEmpty()) << path;
    const Config& c = loaded.config;
    EXPECT_FALSE(c.redis.addr.empty()) << path;
    for (int p : {c.server.http_port, c.server.http3_port, c.server.admin_port, c.ingestion.srt.port,
                  c.ingestion.rtp.port}) {
      EXPECT_TRUE(ports.insert(p).second) << path << " reuses port " << p;
    }
    EXPECT_TRUE(ids.insert(c.cluster.node_id).second) << path;
    EXPECT_TRUE(dirs.insert(c.storage.local.cache_dir).second) << path;
    EXPECT_NE(c.cluster.advertise_url.find(std::to_string(c.server.http_port)), std::string::npos) << path;
  }
}

TEST_F(ConfigTest, ShippedConfigSpellsOutEveryKey) {
  const char* source_dir = std::getenv("MIRROR_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  const YAML::Node root = YAML::LoadFile(std::string(source_dir) + "/configs/mirror.yaml");
  for (const config_schema::ConfigKey& key : config_schema::keys()) {
    YAML::Node node = YAML::Clone(root);
    std::string_view rest = key.path;
    for (std::size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
      node = node[std::string(rest.substr(0, dot))];
      rest.remove_prefix(dot + 1);
    }
    EXPECT_TRUE(node[std::string(rest)].IsDefined()) << key.path << " missing";
  }
}

// ---------------------------------------------------------------------------
// YAML parsing

TEST_F(ConfigYamlTest, ParsesEveryKindOfValue) {
  const LoadedConfig loaded = load(R"(
server:
  admin_port: 9090          # int
  shutdown_timeout: 1m30s   # duration
  data_dir: /var/tmp        # string
ingestion:
  srt:
    enabled: false          # bool
    max_bitrate: 20M        # bitrate with suffix
    buffer_size: 4MiB       # size with suffix
  rtp:
    buffer_size: 2000000    # plain size
    jitter_buffer: 1.5ms    # fractional duration
transcoding:
  gpu_devices: [1, 2]       # list
  audio_bitrate: 128k
storage:
  local:
    max_cache_size: 1GB
)");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, IsEmpty());
  const Config& c = loaded.config;
  EXPECT_EQ(c.server.admin_port, 9090);
  EXPECT_EQ(c.server.shutdown_timeout, 90s);
  EXPECT_EQ(c.server.data_dir, "/var/tmp");
  EXPECT_FALSE(c.ingestion.srt.enabled);
  EXPECT_EQ(c.ingestion.srt.max_bitrate, 20000000);
  EXPECT_EQ(c.ingestion.srt.buffer_size, 4194304);
  EXPECT_EQ(c.ingestion.rtp.buffer_size, 2000000);
  EXPECT_EQ(c.ingestion.rtp.jitter_buffer, 1500us);
  EXPECT_EQ(c.transcoding.gpu_devices, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.transcoding.audio_bitrate, 128000);
  EXPECT_EQ(c.storage.local.max_cache_size, 1000000000);
  // Untouched keys keep their defaults.
  EXPECT_EQ(c.server.http_port, 8000);
  EXPECT_EQ(c.redis, RedisConfig{});
}

TEST_F(ConfigYamlTest, EmptyDocumentGivesDefaults) {
  const LoadedConfig loaded = load("# nothing but a comment\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigYamlTest, EmptySectionKeepsDefaults) {
  const LoadedConfig loaded = load("server:\nredis:\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigYamlTest, NullStringAndListMeanEmpty) {
  const LoadedConfig loaded = load("redis:\n  addr:\ntranscoding:\n  gpu_devices:\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.redis.addr, "");
  EXPECT_THAT(loaded.config.transcoding.gpu_devices, IsEmpty());
}

TEST_F(ConfigYamlTest, AcceptsCommaListForGpuDevices) {
  const LoadedConfig loaded = load("transcoding:\n  gpu_devices: \"0,1\"\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.transcoding.gpu_devices, (std::vector<int>{0, 1}));
}

TEST_F(ConfigYamlTest, ReadsRenditionsAsMappingsOrText) {
  const LoadedConfig loaded = load(
      "transcoding:\n"
      "  renditions:\n"
      "    - {name: 360p, width: 640, height: 360, bitrate: 400k}\n"
      "    - name: small\n"
      "      width: 320\n"
      "      height: 180\n"
      "      bitrate: 150000\n"
      "      fps: 15\n"
      "    - \"tiny:160x90:100k:10\"\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.transcoding.renditions,
            (std::vector<RenditionConfig>{{"360p", 640, 360, 400000, 0},
                                          {"small", 320, 180, 150000, 15},
                                          {"tiny", 160, 90, 100000, 10}}));
}

TEST_F(ConfigYamlTest, RejectsRenditionWithUnknownOrMissingField) {
  const LoadedConfig loaded = load(
      "transcoding:\n"
      "  renditions:\n"
      "    - {name: a, width: 640, height: 360, bitrat: 400k}\n");
  EXPECT_THAT(loaded.errors, names("transcoding.renditions[0].bitrat", "unknown field"));
  EXPECT_THAT(loaded.errors, names("transcoding.renditions[0]", "has no bitrate"));
  EXPECT_THAT(loaded.config.transcoding.renditions, IsEmpty());
}

TEST_F(ConfigYamlTest, ReportsSyntaxErrorWithLineAndColumn) {
  const LoadedConfig loaded = load("server:\n  admin_port: 8080\n  http_port: [8000\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0], HasSubstr("YAML syntax error at line"));
  EXPECT_THAT(loaded.errors[0], HasSubstr("column"));
}

TEST_F(ConfigYamlTest, RejectsNonIntegerPortNamingKeyAndValue) {
  const LoadedConfig loaded = load("server:\n  admin_port: \"abc\"\n");
  EXPECT_THAT(loaded.errors, names("server.admin_port", "\"abc\" is not an integer"));
  EXPECT_THAT(loaded.errors, Contains(HasSubstr("line 2")));
}

TEST_F(ConfigYamlTest, RejectsIntegerOutOfIntRange) {
  const LoadedConfig loaded = load("server:\n  max_connections: 99999999999\n");
  EXPECT_THAT(loaded.errors, names("server.max_connections", "99999999999"));
}

TEST_F(ConfigYamlTest, RejectsMappingWhereScalarBelongs) {
  const LoadedConfig loaded = load("server:\n  http_port:\n    tcp: 80\n");
  EXPECT_THAT(loaded.errors, names("server.http_port", "got a mapping {tcp: 80}"));
}

TEST_F(ConfigYamlTest, RejectsListWhereScalarBelongs) {
  const LoadedConfig loaded = load("ingestion:\n  srt:\n    latency: [1s]\n");
  EXPECT_THAT(loaded.errors, names("ingestion.srt.latency", "got a list"));
}

TEST_F(ConfigYamlTest, RejectsScalarWhereSectionBelongs) {
  const LoadedConfig loaded = load("ingestion:\n  srt: on\n");
  EXPECT_THAT(loaded.errors, names("ingestion.srt", "\"on\""));
}

TEST_F(ConfigYamlTest, RejectsTopLevelScalar) {
  const LoadedConfig loaded = load("just text\n");
  EXPECT_THAT(loaded.errors, Contains(HasSubstr("\"just text\"")));
}

TEST_F(ConfigYamlTest, RejectsMissingValueForNumber) {
  const LoadedConfig loaded = load("server:\n  admin_port:\n");
  EXPECT_THAT(loaded.errors, names("server.admin_port", "has no value"));
}

TEST_F(ConfigYamlTest, RejectsBareIntegerDurationNamingKey) {
  const LoadedConfig loaded = load("ingestion:\n  srt:\n    latency: 120\n");
  EXPECT_THAT(loaded.errors, names("ingestion.srt.latency", "\"120\" has no unit"));
}

TEST_F(ConfigYamlTest, AcceptsZeroDurationSyntaxButValidationRejectsIt) {
  const LoadedConfig loaded = load("storage:\n  local:\n    ttl: 0\n");
  EXPECT_EQ(loaded.config.storage.local.ttl, 0ns);
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0], "storage.local.ttl: 0s must be greater than 0");
}

TEST_F(ConfigYamlTest, RejectsNegativeSize) {
  const LoadedConfig loaded = load("storage:\n  local:\n    max_cache_size: -5\n");
  EXPECT_THAT(loaded.errors, names("storage.local.max_cache_size", "\"-5\" is negative"));
}

TEST_F(ConfigYamlTest, RejectsOverflowingSize) {
  const LoadedConfig loaded = load("ingestion:\n  rtp:\n    buffer_size: 99999999TiB\n");
  EXPECT_THAT(loaded.errors, names("ingestion.rtp.buffer_size", "too large"));
}

TEST_F(ConfigYamlTest, RejectsUnknownBitrateSuffix) {
  const LoadedConfig loaded = load("transcoding:\n  output_bitrate: 400q\n");
  EXPECT_THAT(loaded.errors, names("transcoding.output_bitrate", "\"400q\""));
}

TEST_F(ConfigYamlTest, RejectsNonBooleanFlag) {
  const LoadedConfig loaded = load("storage:\n  s3:\n    use_ssl: maybe\n");
  EXPECT_THAT(loaded.errors, names("storage.s3.use_ssl", "\"maybe\" is not true or false"));
}

TEST_F(ConfigYamlTest, RejectsBadListElementNamingIndex) {
  const LoadedConfig loaded = load("transcoding:\n  gpu_devices: [0, x]\n");
  EXPECT_THAT(loaded.errors, names("transcoding.gpu_devices[1]", "\"x\""));
  EXPECT_EQ(loaded.config.transcoding.gpu_devices, (std::vector<int>{0}));
}

TEST_F(ConfigYamlTest, WarnsOnUnknownKeyWithFullPath) {
  const LoadedConfig loaded = load("server:\n  admin_prot: 9090\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_THAT(loaded.warnings[0], StartsWith("server.admin_prot: unknown key"));
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigYamlTest, WarnsOnUnknownNestedKey) {
  const LoadedConfig loaded = load("ingestion:\n  srt:\n    latncy: 200ms\n");
  EXPECT_THAT(loaded.warnings, Contains(StartsWith("ingestion.srt.latncy: unknown key")));
}

TEST_F(ConfigYamlTest, WarnsOnUnknownSection) {
  const LoadedConfig loaded = load("webrtc:\n  enabled: true\n");
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, Contains(StartsWith("webrtc: unknown key")));
}

TEST_F(ConfigYamlTest, ReportsEveryParseErrorAtOnce) {
  const LoadedConfig loaded =
      load("server:\n  admin_port: x\n  read_timeout: 5\nredis:\n  db: y\n");
  EXPECT_THAT(loaded.errors, names("server.admin_port", "\"x\""));
  EXPECT_THAT(loaded.errors, names("server.read_timeout", "\"5\""));
  EXPECT_THAT(loaded.errors, names("redis.db", "\"y\""));
}

// ---------------------------------------------------------------------------
// Environment overrides

TEST_F(ConfigEnvTest, OverridesScalar) {
  const LoadedConfig loaded = load("", {{"MIRROR_SERVER_ADMIN_PORT", "9090"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.server.admin_port, 9090);
}

TEST_F(ConfigEnvTest, OverridesDuration) {
  const LoadedConfig loaded = load("", {{"MIRROR_INGESTION_SRT_LATENCY", "250ms"}});
  EXPECT_EQ(loaded.config.ingestion.srt.latency, 250ms);
}

TEST_F(ConfigEnvTest, OverridesSizeAndBitrate) {
  const LoadedConfig loaded = load("", {{"MIRROR_INGESTION_RTP_BUFFER_SIZE", "4MiB"},
                                        {"MIRROR_TRANSCODING_OUTPUT_BITRATE", "1.5M"}});
  EXPECT_EQ(loaded.config.ingestion.rtp.buffer_size, 4194304);
  EXPECT_EQ(loaded.config.transcoding.output_bitrate, 1500000);
}

TEST_F(ConfigEnvTest, OverridesListWithCommas) {
  const LoadedConfig loaded = load("", {{"MIRROR_TRANSCODING_GPU_DEVICES", "0,1, 3"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.transcoding.gpu_devices, (std::vector<int>{0, 1, 3}));
}

TEST_F(ConfigEnvTest, OverridesRenditionsWithTextForm) {
  const LoadedConfig loaded =
      load("", {{"MIRROR_TRANSCODING_RENDITIONS", "360p:640x360:400k, 180p:320x180:150k:15"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.transcoding.renditions,
            (std::vector<RenditionConfig>{{"360p", 640, 360, 400000, 0}, {"180p", 320, 180, 150000, 15}}));
}

TEST_F(ConfigEnvTest, RejectsMalformedRenditionText) {
  for (const char* text : {"360p", "360p:640:400k", "360p:640x360:fast", "a:1x2:3:4:5", "a:640x360:400k:x"}) {
    const LoadedConfig loaded = load("", {{"MIRROR_TRANSCODING_RENDITIONS", text}});
    EXPECT_THAT(loaded.errors, names("MIRROR_TRANSCODING_RENDITIONS", "is not a rendition")) << text;
  }
}

TEST_F(ConfigEnvTest, EmptyListVariableClearsList) {
  const LoadedConfig loaded = load("", {{"MIRROR_TRANSCODING_GPU_DEVICES", ""}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.config.transcoding.gpu_devices, IsEmpty());
}

TEST_F(ConfigEnvTest, OverridesSecrets) {
  const LoadedConfig loaded = load("", {{"MIRROR_REDIS_PASSWORD", "s3cr3t"},
                                        {"MIRROR_STORAGE_S3_SECRET_ACCESS_KEY", "abc/def+ghi"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config.redis.password, "s3cr3t");
  EXPECT_EQ(loaded.config.storage.s3.secret_access_key, "abc/def+ghi");
}

TEST_F(ConfigEnvTest, WinsOverFile) {
  const LoadedConfig loaded = load("server:\n  admin_port: 7070\n  http_port: 7071\n",
                                   {{"MIRROR_SERVER_ADMIN_PORT", "9090"}});
  EXPECT_EQ(loaded.config.server.admin_port, 9090);
  EXPECT_EQ(loaded.config.server.http_port, 7071);
}

TEST_F(ConfigEnvTest, OverridesBoolean) {
  const LoadedConfig loaded = load("", {{"MIRROR_STORAGE_DVR_ENABLED", "false"}});
  EXPECT_FALSE(loaded.config.storage.dvr.enabled);
}

TEST_F(ConfigEnvTest, BadValueNamesVariable) {
  const LoadedConfig loaded = load("", {{"MIRROR_SERVER_ADMIN_PORT", "abc"}});
  EXPECT_THAT(loaded.errors,
              Contains(AllOf(StartsWith("MIRROR_SERVER_ADMIN_PORT: "), HasSubstr("\"abc\""))));
  EXPECT_EQ(loaded.config.server.admin_port, 8080);
}

TEST_F(ConfigEnvTest, BareIntegerDurationVariableIsRejected) {
  const LoadedConfig loaded = load("", {{"MIRROR_REDIS_DIAL_TIMEOUT", "5"}});
  EXPECT_THAT(loaded.errors, Contains(StartsWith("MIRROR_REDIS_DIAL_TIMEOUT: \"5\" has no unit")));
}

TEST_F(ConfigEnvTest, UnknownVariableWarns) {
  const LoadedConfig loaded = load("", {{"MIRROR_SERVER_ADMIN_PROT", "9090"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, Contains(StartsWith("MIRROR_SERVER_ADMIN_PROT: ")));
}

TEST_F(ConfigEnvTest, IgnoresOtherVariables) {
  const LoadedConfig loaded = load("", {{"HOME", "/root"}, {"SERVER_ADMIN_PORT", "1"}});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigEnvTest, EveryKeyHasItsOwnVariable) {
  std::set<std::string> names;
  for (const config_schema::ConfigKey& key : config_schema::keys()) {
    const std::string name = config_schema::env_name(key.path);
    EXPECT_TRUE(names.insert(name).second) << name << " is shared";
    EXPECT_EQ(config_schema::find_key_by_env(name), &key);
  }
  EXPECT_EQ(config_schema::env_name("storage.s3.secret_access_key"),
            "MIRROR_STORAGE_S3_SECRET_ACCESS_KEY");
}

TEST_F(ConfigEnvTest, ProcessEnvironmentKeepsOnlyMirrorVariables) {
  ::setenv("MIRROR_CONFIG_TEST_VARIABLE", "a=b", 1);
  ::setenv("NOT_MIRROR_CONFIG_TEST_VARIABLE", "x", 1);
  const Environment env = process_environment();
  ::unsetenv("MIRROR_CONFIG_TEST_VARIABLE");
  ::unsetenv("NOT_MIRROR_CONFIG_TEST_VARIABLE");
  ASSERT_EQ(env.count("MIRROR_CONFIG_TEST_VARIABLE"), 1u);
  EXPECT_EQ(env.at("MIRROR_CONFIG_TEST_VARIABLE"), "a=b");
  for (const auto& [name, value] : env) EXPECT_THAT(name, StartsWith("MIRROR_"));
}

// ---------------------------------------------------------------------------
// Files

TEST_F(ConfigFileTest, MissingExplicitFileIsError) {
  const std::string missing = path("nope.yaml");
  const LoadedConfig loaded = load_config(missing, true, {});
  EXPECT_THAT(loaded.errors, Contains("config file " + missing + " does not exist"));
  EXPECT_FALSE(loaded.used_defaults);
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigFileTest, MissingDefaultFileUsesDefaults) {
  const LoadedConfig loaded = load_config(path("mirror.yaml"), false, {});
  EXPECT_TRUE(loaded.used_defaults);
  EXPECT_EQ(loaded.source, "built-in defaults");
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigFileTest, MissingDefaultFileStillAppliesEnvironment) {
  const LoadedConfig loaded =
      load_config(path("mirror.yaml"), false, {{"MIRROR_REDIS_ADDR", "redis:6379"}});
  EXPECT_TRUE(loaded.used_defaults);
  EXPECT_EQ(loaded.config.redis.addr, "redis:6379");
}

TEST_F(ConfigFileTest, LoadsFileAndRecordsSource) {
  const std::string file = write_file("m.yaml", "server:\n  http_port: 8001\n");
  const LoadedConfig loaded = load_config(file, true, {});
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.source, file);
  EXPECT_FALSE(loaded.used_defaults);
  EXPECT_EQ(loaded.config.server.http_port, 8001);
}

TEST_F(ConfigFileTest, SyntaxErrorNamesFileLineAndColumn) {
  const std::string file = write_file("bad.yaml", "server:\n  admin_port: 8080\n bad: [\n");
  const LoadedConfig loaded = load_config(file, true, {});
  ASSERT_FALSE(loaded.errors.empty());
  EXPECT_THAT(loaded.errors[0], StartsWith("config file " + file + ": YAML syntax error at line"));
  EXPECT_THAT(loaded.errors[0], HasSubstr("column"));
}

TEST_F(ConfigFileTest, DirectoryInsteadOfFileIsError) {
  const LoadedConfig loaded = load_config(dir_.string(), true, {});
  EXPECT_THAT(loaded.errors, Contains(HasSubstr("is a directory")));
}

TEST_F(ConfigFileTest, RunsValidation) {
  const std::string file = write_file("m.yaml", "server:\n  admin_port: 70000\n");
  const LoadedConfig loaded = load_config(file, true, {});
  EXPECT_THAT(loaded.errors, Contains("server.admin_port: 70000 is not a valid port (1-65535)"));
}

// ---------------------------------------------------------------------------
// Validation: one test per rule

TEST_F(ConfigValidateTest, RejectsPortAbove65535) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.admin_port = 70000; }),
              Contains("server.admin_port: 70000 is not a valid port (1-65535)"));
}

TEST_F(ConfigValidateTest, RejectsPortZero) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.port = 0; }),
              names("ingestion.srt.port", "0 is not a valid port"));
  EXPECT_THAT(violations_after([](Config& c) { c.server.http3_port = -1; }),
              names("server.http3_port", "-1 is not a valid port"));
}

TEST_F(ConfigValidateTest, RejectsTwoTcpListenersOnOnePort) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.admin_port = c.server.http_port; }),
              Contains("server.admin_port: 8000 conflicts with server.http_port on TCP port 8000"));
}

TEST_F(ConfigValidateTest, RejectsHttpSharingTheHttpsPort) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.http_port = 8443; }),
              names("server.http_port", "8443 conflicts with server.http3_port on TCP"));
}

TEST_F(ConfigValidateTest, RejectsSrtSharingTheQuicPort) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.port = 8443; }),
              names("ingestion.srt.port", "8443 conflicts with server.http3_port on UDP"));
}

TEST_F(ConfigValidateTest, RejectsRtcpPortTakenBySrt) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.rtp.port = 5999; }),
              names("ingestion.rtp.port",
                    "5999 (RTCP on port + 1) conflicts with "
                    "ingestion.srt.port on UDP port 6000"));
}

TEST_F(ConfigValidateTest, AllowsTcpAndUdpListenersOnSamePortNumber) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.admin_port = c.ingestion.srt.port; }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, IgnoresDisabledListenersInConflicts) {
  EXPECT_THAT(violations_after([](Config& c) {
                c.ingestion.srt.enabled = false;
                c.ingestion.srt.port = 8443;
                c.ingestion.rtp.enabled = false;
                c.ingestion.rtp.port = 8442;
              }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsRtpPortWithoutRoomForRtcp) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.rtp.port = 65535; }),
              names("ingestion.rtp.port", "65535 leaves no port for RTCP"));
}

TEST_F(ConfigValidateTest, RejectsZeroMaxConnections) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.max_connections = 0; }),
              Contains("server.max_connections: 0 must be at least 1"));
}

TEST_F(ConfigValidateTest, QuicSettingsAreNamedChoicesAndRanges) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.quic.congestion_control = "reno"; }),
              Contains("server.quic.congestion_control: \"reno\" must be \"cubic\" or \"bbr\""));
  EXPECT_THAT(violations_after([](Config& c) { c.server.quic.retry = "sometimes"; }),
              names("server.quic.retry", "\"sometimes\""));
  EXPECT_THAT(violations_after([](Config& c) { c.server.quic.max_bidi_streams = 0; }),
              names("server.quic.max_bidi_streams", "0"));
  EXPECT_THAT(violations_after([](Config& c) { c.server.quic.max_uni_streams = 2; }),
              names("server.quic.max_uni_streams", "2"));
  // Without HTTP/3 the UDP port number is free for SRT.
  EXPECT_THAT(violations_after([](Config& c) {
                c.server.quic.enabled = false;
                c.ingestion.srt.port = c.server.http3_port;
              }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsMaxStreamsOutsideOneToThousand) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.max_streams = 0; }),
              Contains("ingestion.max_streams: 0 must be between 1 and 1000"));
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.max_streams = 1001; }),
              names("ingestion.max_streams", "1001"));
}

TEST_F(ConfigValidateTest, RejectsZeroForEveryDuration) {
  int durations = 0;
  for (const config_schema::ConfigKey& key : config_schema::keys()) {
    if (key.kind != config_schema::ValueKind::kDuration) continue;
    ++durations;
    Config config = valid_config();
    *std::get<std::chrono::nanoseconds*>(key.field(config)) = 0ns;
    if (key.path == "packaging.max_segment_duration") {
      EXPECT_THAT(validate(config), IsEmpty()) << "0 means four times the segment length";
      continue;
    }
    EXPECT_THAT(validate(config), Contains(std::string(key.path) + ": 0s must be greater than 0"));
  }
  EXPECT_EQ(durations, 19);
}

TEST_F(ConfigValidateTest, ConsoleKeys) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.session_ttl = std::chrono::seconds{30}; }),
              Contains(HasSubstr("server.session_ttl: 30s must be between 1m and 720h")));
  EXPECT_THAT(violations_after([](Config& c) { c.server.playback_secret = "short"; }),
              Contains("server.playback_secret: ****** (5 characters) must be empty or 16-256 characters long"));
  EXPECT_THAT(violations_after([](Config& c) { c.server.playback_secret = "sixteen-chars-ok"; }), IsEmpty());
  EXPECT_THAT(violations_after([](Config& c) { c.server.cors_origins = {}; }),
              Contains(HasSubstr("server.cors_origins: [] must name at least one origin")));
  EXPECT_THAT(violations_after([](Config& c) { c.server.cors_origins = {"https://wall.example:8443", "http://[::1]:80"}; }),
              IsEmpty());
  EXPECT_THAT(violations_after([](Config& c) { c.server.cors_origins = {"*", "https://a.example"}; }),
              Contains(HasSubstr("server.cors_origins[0]: \"*\" must be the only entry")));
  for (const char* bad : {"wall.example", "https://a.example/path", "ftp://a.example", "https://", "https://a b"}) {
    EXPECT_THAT(violations_after([bad](Config& c) { c.server.cors_origins = {bad}; }),
                Contains(HasSubstr("server.cors_origins[0]")))
        << bad;
  }
}

TEST_F(ConfigValidateTest, AllowedSourcesAreNetworks) {
  Config config = valid_config();
  config.ingestion.rtp.allowed_sources = {"10.0.0.0/8", "not-a-net", "::1"};
  EXPECT_THAT(validate(config),
              Contains(HasSubstr("ingestion.rtp.allowed_sources[1]: \"not-a-net\" is not an address")));
  auto loaded = load_config_from_string("ingestion:\n  rtp:\n    allowed_sources: [\"192.0.2.0/24\"]\n",
                                        {{"MIRROR_INGESTION_RTP_ALLOW_UNDECLARED", "false"}});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.config.ingestion.rtp.allowed_sources, std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_FALSE(loaded.config.ingestion.rtp.allow_undeclared);
  auto from_env = load_config_from_string("", {{"MIRROR_INGESTION_RTP_ALLOWED_SOURCES", "10.0.0.0/8, ::1"}});
  EXPECT_EQ(from_env.config.ingestion.rtp.allowed_sources, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
}

TEST_F(ConfigValidateTest, AdminBindBeyondLoopbackNeedsAToken) {
  Config config = valid_config();
  config.server.admin_bind = "0.0.0.0";
  EXPECT_THAT(validate(config), Contains(HasSubstr("server.admin_bind: 0.0.0.0 needs server.admin_token")));
  config.server.admin_token = "t";
  EXPECT_THAT(validate(config), IsEmpty());
  config.server.admin_token.clear();
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "::1"}) {
    config.server.admin_bind = loopback;
    EXPECT_THAT(validate(config), IsEmpty()) << loopback;
  }
  config.server.admin_bind = "localhost";
  EXPECT_THAT(validate(config), Contains(HasSubstr("must be an IPv4 or IPv6 address")));
  EXPECT_TRUE(parse_bind_address("::")->ipv6);
  EXPECT_FALSE(parse_bind_address("::")->loopback);
  EXPECT_FALSE(parse_bind_address("10.0.0.1")->loopback);
  EXPECT_FALSE(parse_bind_address("1.2.3.4.5"));
}

TEST_F(ConfigValidateTest, RejectsMaxSegmentDurationBelowTheSegmentLength) {
  Config config = valid_config();
  config.packaging.max_segment_duration = 300ms;
  EXPECT_THAT(validate(config),
              Contains(HasSubstr("packaging.max_segment_duration: 300ms must be at least "
                                 "storage.dvr.segment_length (500ms)")));
  config.packaging.max_segment_duration = 500ms;
  EXPECT_THAT(validate(config), IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsPartDurationNotShorterThanSegmentLength) {
  EXPECT_THAT(violations_after([](Config& c) { c.packaging.part_duration = 500ms; }),
              Contains("packaging.part_duration: 500ms must be shorter than "
                       "storage.dvr.segment_length (500ms)"));
}

TEST_F(ConfigValidateTest, RejectsFewerThanThreePlaylistSegments) {
  EXPECT_THAT(violations_after([](Config& c) { c.packaging.playlist_segments = 2; }),
              Contains("packaging.playlist_segments: 2 must be at least 3"));
}

TEST_F(ConfigValidateTest, RejectsSrtLatencyAboveTenSeconds) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.latency = 10001ms; }),
              Contains("ingestion.srt.latency: 10.001s exceeds the maximum of 10s"));
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.latency = 10s; }), IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsSrtMaxBitrateOutside100kTo1G) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.max_bitrate = 99999; }),
              names("ingestion.srt.max_bitrate", "99999 must be between 100000"));
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.max_bitrate = 1000000001; }),
              names("ingestion.srt.max_bitrate", "1000000001"));
}

TEST_F(ConfigValidateTest, RejectsBufferSizesOutside64KiBTo256MiB) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.buffer_size = 65535; }),
              names("ingestion.srt.buffer_size", "65535 must be between 65536"));
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.rtp.buffer_size = 268435457; }),
              names("ingestion.rtp.buffer_size", "268435457"));
  EXPECT_THAT(violations_after([](Config& c) {
                c.ingestion.srt.buffer_size = 65536;
                c.ingestion.rtp.buffer_size = 268435456;
              }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsShortSrtPassphraseWithoutRevealingIt) {
  const auto violations =
      violations_after([](Config& c) { c.ingestion.srt.passphrase = "hunter2!!"; });
  EXPECT_THAT(violations, names("ingestion.srt.passphrase", "****** (9 characters)"));
  EXPECT_THAT(violations, Not(Contains(HasSubstr("hunter2"))));
}

TEST_F(ConfigValidateTest, RejectsSrtPassphraseLongerThan79) {
  EXPECT_THAT(
      violations_after([](Config& c) { c.ingestion.srt.passphrase = std::string(80, 'p'); }),
      names("ingestion.srt.passphrase", "(80 characters) must be empty or 10-79"));
}

TEST_F(ConfigValidateTest, AcceptsSrtPassphraseOf10To79Characters) {
  for (const std::size_t length : {std::size_t{10}, std::size_t{79}}) {
    EXPECT_THAT(violations_after(
                    [length](Config& c) { c.ingestion.srt.passphrase = std::string(length, 'p'); }),
                IsEmpty());
  }
}

TEST_F(ConfigValidateTest, RejectsPbkeylenOtherThan16_24_32) {
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.pbkeylen = 20; }),
              Contains("ingestion.srt.pbkeylen: 20 must be 16, 24 or 32"));
  EXPECT_THAT(violations_after([](Config& c) { c.ingestion.srt.pbkeylen = 32; }), IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsOutputBitrateOutside100kTo50M) {
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_bitrate = 99999; }),
              Contains("transcoding.output_bitrate: 99999 must be between 100000 and 50000000"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_bitrate = 50000001; }),
              names("transcoding.output_bitrate", "50000001"));
}

TEST_F(ConfigValidateTest, RejectsAudioBitrateOutside8kTo512k) {
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.audio_bitrate = 7999; }),
              Contains("transcoding.audio_bitrate: 7999 must be between 8000 and 512000"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.audio_bitrate = 512001; }),
              names("transcoding.audio_bitrate", "512001"));
}

TEST_F(ConfigValidateTest, RejectsOddOrOutOfRangeOutputDimensions) {
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_width = 641; }),
              Contains("transcoding.output_width: 641 must be an even number between 16 and 7680"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_width = 7682; }),
              names("transcoding.output_width", "7682"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_height = 14; }),
              names("transcoding.output_height", "14 must be an even number between 16 and 4320"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.output_height = 361; }),
              names("transcoding.output_height", "361"));
}

TEST_F(ConfigValidateTest, RejectsWorkerThreadsOutside1To256) {
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.worker_threads = 0; }),
              Contains("transcoding.worker_threads: 0 must be between 1 and 256"));
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.worker_threads = 257; }),
              names("transcoding.worker_threads", "257"));
}

TEST_F(ConfigValidateTest, RejectsZeroMaxQueueSize) {
  EXPECT_THAT(violations_after([](Config& c) { c.transcoding.max_queue_size = 0; }),
              Contains("transcoding.max_queue_size: 0 must be at least 1"));
}

TEST_F(ConfigValidateTest, DefaultRenditionComesFromTheOutputKeys) {
  TranscodingConfig t;
  EXPECT_EQ(effective_renditions(t), (std::vector<RenditionConfig>{{"360p", 640, 360, 400000, 30}}));
  t.output_width = 1280;
  t.output_height = 720;
  t.output_fps = 25;
  t.renditions = {{"a", 320, 180, 150000, 0}, {"b", 640, 360, 400000, 15}};
  EXPECT_EQ(effective_renditions(t),
            (std::vector<RenditionConfig>{{"a", 320, 180, 150000, 25}, {"b", 640, 360, 400000, 15}}));
}

TEST_F(ConfigValidateTest, RejectsBadRenditions) {
  const auto violations = violations_after([](Config& c) {
    c.transcoding.renditions = {{"source", 640, 360, 400000, 0},
                                {"a/b", 640, 360, 400000, 0},
                                {"x", 641, 360, 400000, 0},
                                {"y", 640, 360, 1000, 0},
                                {"z", 640, 360, 400000, 500},
                                {"z", 640, 360, 400000, 0}};
  });
  EXPECT_THAT(violations, names("transcoding.renditions[0].name", "is taken"));
  EXPECT_THAT(violations, names("transcoding.renditions[1].name", "1-32 characters"));
  EXPECT_THAT(violations, names("transcoding.renditions[2].width", "641"));
  EXPECT_THAT(violations, names("transcoding.renditions[3].bitrate", "1000"));
  EXPECT_THAT(violations, names("transcoding.renditions[4].fps", "500"));
  EXPECT_THAT(violations, names("transcoding.renditions[5].name", "earlier rendition"));
}

TEST_F(ConfigValidateTest, RejectsUnknownProfileRateAndSampleRate) {
  const auto violations = violations_after([](Config& c) {
    c.transcoding.profile = "extended";
    c.transcoding.output_fps = 0;
    c.transcoding.audio_sample_rate = 47999;
  });
  EXPECT_THAT(violations, names("transcoding.profile", "\"extended\""));
  EXPECT_THAT(violations, names("transcoding.output_fps", "0"));
  EXPECT_THAT(violations, names("transcoding.audio_sample_rate", "47999"));
}

TEST_F(ConfigValidateTest, RejectsNegativeGpuDevice) {
  EXPECT_THAT(violations_after([](Config& c) {
                c.transcoding.gpu_devices = {0, -1};
              }),
              names("transcoding.gpu_devices[1]", "-1 is not a valid GPU index"));
}

TEST_F(ConfigValidateTest, RequiresS3BucketRegionAndCredentialsWhenEnabled) {
  const auto violations = violations_after([](Config& c) {
    c.storage.s3.enabled = true;
    c.storage.s3.bucket.clear();
    c.storage.s3.region.clear();
  });
  for (const char* key : {"storage.s3.bucket", "storage.s3.region", "storage.s3.access_key_id",
                          "storage.s3.secret_access_key"}) {
    EXPECT_THAT(violations, Contains(std::string(key) +
                                     ": \"\" must not be empty when storage.s3.enabled is true"));
  }
  EXPECT_THAT(violations_after([](Config& c) {
                c.storage.s3.enabled = true;
                c.storage.s3.access_key_id = "AKIA";
                c.storage.s3.secret_access_key = "secret";
              }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsRedisDbOutside0To15) {
  EXPECT_THAT(violations_after([](Config& c) { c.redis.db = 16; }),
              Contains("redis.db: 16 must be between 0 and 15"));
  EXPECT_THAT(violations_after([](Config& c) { c.redis.db = -1; }), names("redis.db", "-1"));
}

TEST_F(ConfigValidateTest, RejectsZeroRedisPoolSize) {
  EXPECT_THAT(violations_after([](Config& c) { c.redis.pool_size = 0; }),
              Contains("redis.pool_size: 0 must be at least 1"));
}

TEST_F(ConfigValidateTest, RejectsNegativeRedisMaxRetries) {
  EXPECT_THAT(violations_after([](Config& c) { c.redis.max_retries = -1; }),
              Contains("redis.max_retries: -1 must be between 0 and 100"));
}

TEST_F(ConfigValidateTest, RedisAddressesSentinelsAndClusterKeys) {
  EXPECT_THAT(violations_after([](Config& c) { c.redis.addr = "redis"; }),
              Contains("redis.addr: \"redis\" must be host:port"));
  EXPECT_THAT(violations_after([](Config& c) { c.redis.addr = "[::1]:6379"; }), IsEmpty());
  EXPECT_THAT(violations_after([](Config& c) { c.redis.addr = "redis.local:99999"; }),
              Contains("redis.addr: \"redis.local:99999\" must be host:port"));
  EXPECT_THAT(violations_after([](Config& c) { c.redis.sentinels = {"127.0.0.1:26379"}; }),
              Contains("redis.master_name: \"\" must not be empty when redis.sentinels is set"));
  EXPECT_THAT(violations_after([](Config& c) { c.redis.master_name = "m"; }),
              Contains("redis.master_name: \"m\" needs redis.sentinels"));
  EXPECT_THAT(violations_after([](Config& c) {
                c.redis.sentinels = {"a:1", "b"};
                c.redis.master_name = "m";
              }),
              Contains("redis.sentinels: \"b\" must be host:port"));
  EXPECT_THAT(violations_after([](Config& c) {
                c.redis.addr = "127.0.0.1:6379";
                c.redis.pool_size = 1;
              }),
              Contains("redis.pool_size: 1 must be at least 2"));
  EXPECT_THAT(violations_after([](Config& c) { c.cluster.node_id = "a b"; }),
              Contains("cluster.node_id: \"a b\" must be 1-128 characters of A-Z a-z 0-9 . _ : -"));
  EXPECT_THAT(violations_after([](Config& c) { c.cluster.advertise_url = "10.0.0.5:8000"; }),
              Contains("cluster.advertise_url: \"10.0.0.5:8000\" must start with http:// or https://"));
  EXPECT_THAT(violations_after([](Config& c) { c.cluster.heartbeat = 10ms; }),
              Contains("cluster.heartbeat: 10ms must be between 100ms and 1m"));
}

TEST_F(ConfigValidateTest, RejectsMonitoringPathWithoutLeadingSlash) {
  EXPECT_THAT(violations_after([](Config& c) { c.monitoring.metrics_path = "metrics"; }),
              Contains("monitoring.metrics_path: \"metrics\" must start with '/'"));
  EXPECT_THAT(violations_after([](Config& c) { c.monitoring.health_check_path = ""; }),
              names("monitoring.health_check_path", "\"\" must start with '/'"));
}

TEST_F(ConfigValidateTest, RejectsSameMetricsAndHealthPath) {
  EXPECT_THAT(violations_after([](Config& c) { c.monitoring.health_check_path = "/metrics"; }),
              Contains("monitoring.health_check_path: \"/metrics\" must differ from "
                       "monitoring.metrics_path"));
}

TEST_F(ConfigValidateTest, RejectsZeroMaxCacheSize) {
  EXPECT_THAT(violations_after([](Config& c) { c.storage.local.max_cache_size = 0; }),
              Contains("storage.local.max_cache_size: 0 must be greater than 0"));
}

TEST_F(ConfigValidateTest, AcceptsMissingCacheDirUnderWritableParentWithoutCreatingIt) {
  const std::string cache = path("a/b/c");
  EXPECT_THAT(violations_after([&](Config& c) { c.storage.local.cache_dir = cache; }), IsEmpty());
  EXPECT_FALSE(fs::exists(path("a")));
}

TEST_F(ConfigValidateTest, AcceptsExistingWritableDirectories) {
  fs::create_directories(path("cache"));
  EXPECT_THAT(violations_after([&](Config& c) { c.server.data_dir = dir_.string() + "/"; }),
              IsEmpty());
}

TEST_F(ConfigValidateTest, RejectsCacheDirBelowARegularFile) {
  const std::string file = write_file("plain", "x");
  EXPECT_THAT(violations_after([&](Config& c) { c.storage.local.cache_dir = file + "/sub/dir"; }),
              Contains("storage.local.cache_dir: \"" + file +
                       "/sub/dir\" cannot be created: " + file + " is not a directory"));
}

TEST_F(ConfigValidateTest, RejectsDataDirThatIsARegularFile) {
  const std::string file = write_file("plain", "x");
  EXPECT_THAT(violations_after([&](Config& c) { c.server.data_dir = file; }),
              Contains("server.data_dir: \"" + file + "\" exists but is not a directory"));
}

TEST_F(ConfigValidateTest, RejectsEmptyCacheDir) {
  EXPECT_THAT(violations_after([](Config& c) { c.storage.local.cache_dir.clear(); }),
              Contains("storage.local.cache_dir: \"\" must not be empty"));
}

TEST_F(ConfigValidateTest, RejectsReadOnlyDataDir) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write into any directory";
  fs::create_directories(path("ro"));
  fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_THAT(violations_after([&](Config& c) { c.server.data_dir = path("ro"); }),
              names("server.data_dir", "is not writable"));
  EXPECT_THAT(violations_after([&](Config& c) { c.server.data_dir = path("ro/new"); }),
              names("server.data_dir", "cannot be created"));
  fs::permissions(path("ro"), fs::perms::owner_all);
}

TEST_F(ConfigValidateTest, RejectsTlsCertificateWithoutKey) {
  EXPECT_THAT(violations_after([](Config& c) { c.server.tls_cert_file = "/etc/cert.pem"; }),
              Contains("server.tls_key_file: \"\" must be set when server.tls_cert_file is set"));
  EXPECT_THAT(violations_after([](Config& c) { c.server.tls_key_file = "/etc/key.pem"; }),
              names("server.tls_cert_file", "\"\""));
}

TEST_F(ConfigValidateTest, ReportsSeveralViolationsAtOnce) {
  const auto violations = violations_after([](Config& c) {
    c.server.admin_port = 70000;
    c.ingestion.max_streams = 0;
    c.transcoding.output_bitrate = 1000;
    c.redis.db = 99;
    c.packaging.playlist_segments = 1;
  });
  EXPECT_EQ(violations.size(), 5u);
  EXPECT_THAT(violations, names("server.admin_port", "70000"));
  EXPECT_THAT(violations, names("ingestion.max_streams", "0"));
  EXPECT_THAT(violations, names("transcoding.output_bitrate", "1000"));
  EXPECT_THAT(violations, names("redis.db", "99"));
  EXPECT_THAT(violations, names("packaging.playlist_segments", "1"));
}

// ---------------------------------------------------------------------------
// to_yaml

// Every field away from its default, with strings YAML would misread unquoted.
Config unusual_config(const std::string& dir) {
  Config c;
  c.server = {9443,        9000,         9090, "::1", "tok: \"en\" #1", true, 50, 7, 1500ms,
              1h + 1ns,    2min,         "/etc/c.pem", "/etc/k.pem", dir + "/data"};
  c.ingestion.srt = {false, 7000, 10s, 1000000000, 65536, "pass: \"word\" #1", 32};
  c.ingestion.rtp = {false, 7002, 268435456, 999us};
  c.ingestion.max_streams = 1000;
  c.ingestion.reconnect_delay = 7ns;
  c.transcoding.enabled = false;
  c.transcoding.use_gpu = false;
  c.transcoding.gpu_devices = {};
  c.transcoding.output_width = 1920;
  c.transcoding.output_height = 1080;
  c.transcoding.output_bitrate = 6000000;
  c.transcoding.output_fps = 60;
  c.transcoding.profile = "high";
  c.transcoding.audio_bitrate = 128000;
  c.transcoding.audio_sample_rate = 0;
  c.transcoding.worker_threads = 256;
  c.transcoding.max_queue_size = 1;
  c.transcoding.renditions = {{"720p", 1280, 720, 3000000, 25}, {"yes", 320, 180, 150000, 0}};
  c.packaging = {333ms, 3, 5s, 250ms};
  c.storage.s3 = {true, "http://minio:9000", "null", "yes", "AKIA", "~", false};
  c.storage.local = {dir + "/cache", 1, 36h};
  c.storage.dvr = {false, 1ms, 334ms};
  c.redis = {"redis:8080", "p@ss word", 15, 0, 1s, 2s, 3s, 2, {"s1:26379", "[::1]:26380"}, "primary"};
  c.cluster = {"node-7.b", "https://n7.example:8443", 250ms};
  c.monitoring = {"/m", "/h", 90s};
  return c;
}

TEST_F(ConfigToYamlTest, RoundTripsDefaults) {
  const LoadedConfig loaded = load(to_yaml(Config{}, false));
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config, Config{});
}

TEST_F(ConfigToYamlTest, RoundTripsEveryFieldChanged) {
  const Config original = unusual_config(dir_.string());
  ASSERT_THAT(validate(original), IsEmpty());
  const std::string yaml = to_yaml(original, false);
  const LoadedConfig loaded = load(yaml);
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config, original) << yaml;
}

TEST_F(ConfigToYamlTest, MasksNonEmptySecrets) {
  const Config original = unusual_config(dir_.string());
  const std::string yaml = to_yaml(original, true);
  for (const char* secret : {"pass: ", "p@ss word", "AKIA"}) {
    EXPECT_THAT(yaml, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(yaml, HasSubstr("password: \"******\""));
  EXPECT_THAT(yaml, HasSubstr("secret_access_key: \"******\""));
  EXPECT_THAT(yaml, HasSubstr("access_key_id: \"******\""));
  EXPECT_THAT(yaml, HasSubstr("passphrase: \"******\""));
  EXPECT_THAT(to_yaml(original, false), HasSubstr("p@ss word"));
}

TEST_F(ConfigToYamlTest, LeavesEmptySecretsEmptyWhenMasking) {
  const std::string yaml = to_yaml(Config{}, true);
  EXPECT_THAT(yaml, HasSubstr("password: \"\""));
  EXPECT_THAT(yaml, Not(HasSubstr("******")));
}

TEST_F(ConfigToYamlTest, WritesDurationsReadablyAndSizesAsIntegers) {
  const std::string yaml = to_yaml(Config{}, false);
  EXPECT_THAT(yaml, HasSubstr("latency: 120ms"));
  EXPECT_THAT(yaml, HasSubstr("retention_time: 24h"));
  EXPECT_THAT(yaml, HasSubstr("max_cache_size: 10737418240"));
  EXPECT_THAT(yaml, HasSubstr("max_bitrate: 60000000"));
  EXPECT_THAT(yaml, HasSubstr("gpu_devices: [0]"));
}

TEST_F(ConfigToYamlTest, ListsSectionsInConfigOrder) {
  const std::string yaml = to_yaml(Config{}, false);
  std::size_t previous = 0;
  for (const char* section : {"server:", "ingestion:", "transcoding:", "packaging:", "storage:",
                              "redis:", "monitoring:"}) {
    const std::size_t at = yaml.find(std::string("\n") + section);
    const std::size_t position = yaml.starts_with(section) ? 0 : at;
    ASSERT_NE(position, std::string::npos) << section;
    EXPECT_GE(position, previous) << section;
    previous = position;
  }
}

}  // namespace
}  // namespace mirror::core
