#include "core/errors.h"

#include <gtest/gtest.h>

namespace mirror::core {
namespace {

TEST(Errors, CodesHaveTheirPublicNames) {
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidInput), "INVALID_INPUT");
  EXPECT_EQ(error_code_name(ErrorCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(error_code_name(ErrorCode::kAlreadyExists), "ALREADY_EXISTS");
  EXPECT_EQ(error_code_name(ErrorCode::kCapacityFull), "CAPACITY_FULL");
  EXPECT_EQ(error_code_name(ErrorCode::kServiceUnavailable), "SERVICE_UNAVAILABLE");
  EXPECT_EQ(error_code_name(ErrorCode::kInternal), "INTERNAL_ERROR");
}

TEST(Errors, CodesMapToHttpStatuses) {
  EXPECT_EQ(http_status(ErrorCode::kInvalidInput), 400);
  EXPECT_EQ(http_status(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(http_status(ErrorCode::kCapacityFull), 503);
  EXPECT_EQ(http_status(ErrorCode::kServiceUnavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::kInternal), 500);
}

TEST(Errors, JsonBodyHasCodeMessageAndDetails) {
  Error e(ErrorCode::kNotFound, "stream not found", {{"name", "cam1"}});
  auto j = e.to_json();
  EXPECT_EQ(j["code"], "NOT_FOUND");
  EXPECT_EQ(j["message"], "stream not found");
  EXPECT_EQ(j["details"]["name"], "cam1");
  EXPECT_TRUE(Error(ErrorCode::kInternal, "x").to_json()["details"].is_object());
}

TEST(Errors, ResultHoldsValueOrError) {
  Result<int> ok = 5;
  Result<int> bad = Error(ErrorCode::kInvalidInput, "no");
  EXPECT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace mirror::core
