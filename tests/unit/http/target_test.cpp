#include "http/target.h"

#include <gtest/gtest.h>

namespace mirror::http {
namespace {

TEST(Target, SplitsPathAndQuery) {
  auto t = parse_target("/streams/cam1/index.m3u8?_HLS_msn=5&_HLS_part=2");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/streams/cam1/index.m3u8");
  EXPECT_EQ(t->query, "_HLS_msn=5&_HLS_part=2");
}

TEST(Target, DecodesPercentEscapesInPath) {
  auto t = parse_target("/a%20b/c");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a b/c");
}

TEST(Target, CollapsesSlashesAndDotSegments) {
  auto t = parse_target("//a/./b//c");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a/b/c");
}

TEST(Target, KeepsRootAndTrailingSlash) {
  EXPECT_EQ(parse_target("/")->path, "/");
  EXPECT_EQ(parse_target("/a/")->path, "/a/");
}

TEST(Target, RejectsParentSegments) {
  EXPECT_FALSE(parse_target("/streams/../../etc/passwd"));
  EXPECT_FALSE(parse_target("/streams/%2e%2e/x"));
  EXPECT_FALSE(parse_target("/.."));
}

TEST(Target, RejectsAbsoluteAndAsteriskForms) {
  EXPECT_FALSE(parse_target("http://example.com/"));
  EXPECT_FALSE(parse_target("*"));
  EXPECT_FALSE(parse_target(""));
}

TEST(Target, RejectsBadEscapesNulAndControlCharacters) {
  EXPECT_FALSE(parse_target("/a%2"));
  EXPECT_FALSE(parse_target("/a%zz"));
  EXPECT_FALSE(parse_target("/a%00b"));
  EXPECT_FALSE(parse_target("/a%0ab"));
  EXPECT_FALSE(parse_target("/a%5cb"));
}

TEST(Target, FindsQueryParameters) {
  EXPECT_EQ(find_query_param("a=1&b=two%20words&c", "b").value(), "two words");
  EXPECT_EQ(find_query_param("a=1&b=2", "a").value(), "1");
  EXPECT_EQ(find_query_param("a=1&c", "c").value(), "");
  EXPECT_FALSE(find_query_param("a=1", "b"));
  EXPECT_EQ(find_query_param("q=a+b", "q").value(), "a b");
}

TEST(Target, QueryParameterWithBadEscapeIsAbsent) {
  EXPECT_FALSE(find_query_param("a=%zz", "a"));
}

}  // namespace
}  // namespace mirror::http
