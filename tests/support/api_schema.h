// Test support: every JSON answer that the integration tests get from an
// admin server is checked against the API description
// (src/api/openapi.json): its operation, its status and the schema of its
// body. MirrorInstance watches its admin port and fails the test with what
// did not conform.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mirror::testing {

// What is wrong with `body` as the answer `status` to METHOD PATH by the
// described API: empty when it conforms, or when METHOD PATH is not an API
// operation (pages, unknown paths, other methods).
std::vector<std::string> check_api_answer(std::string_view method, std::string_view path, int status,
                                          std::string_view content_type, std::string_view body);

// Where `value` breaks `schema` (JSON Schema as OpenAPI 3.1 uses it: type,
// required, properties, additionalProperties, items, enum, const, $ref,
// allOf, anyOf, oneOf, minimum, maximum), each problem with its place.
std::vector<std::string> schema_problems(const nlohmann::json& document, const nlohmann::json& schema,
                                         const nlohmann::json& value, const std::string& where = "$");

// Answers from `port` are checked from now on; what did not conform is kept
// until taken.
void watch_api_port(int port);
std::vector<std::string> take_api_problems(int port);

// Called by the test HTTP client for every answer.
void note_api_answer(int port, std::string_view method, std::string_view target, int status,
                     std::string_view content_type, std::string_view body);

}  // namespace mirror::testing
