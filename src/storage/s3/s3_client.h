// A client of one S3-compatible bucket (AWS S3, MinIO, s3rver...): put,
// get and delete objects, batched deletes, and a bucket check. libcurl signs
// each request with AWS Signature Version 4 (CURLOPT_AWS_SIGV4); every body
// goes with its SHA-256 (signed) and its Content-MD5, so the server refuses
// bytes that changed on the way. Addressing is path-style
// (ENDPOINT/BUCKET/KEY), which every S3-compatible server accepts.
//
// An S3 error comes back as a core::Error that names its cause: the HTTP
// status and S3's code (SignatureDoesNotMatch, NoSuchBucket, ...) in its
// details, and a message an operator can act on. Nothing is thrown.
//
// Threads: an S3Client belongs to one thread (an upload worker); it keeps
// its connection alive between requests. Several workers use several
// clients.
#pragma once

#include "core/errors.h"

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::storage::s3 {

struct S3Settings {
  std::string endpoint;  // "http://127.0.0.1:4569"; empty: AWS (https://s3.REGION.amazonaws.com)
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key_id;
  std::string secret_access_key;
  bool use_ssl = true;  // for the AWS endpoint; an explicit endpoint says its own scheme
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  core::Status put_object(std::string_view key, std::span<const std::byte> body, std::string_view content_type);
  // A body larger than `part_size` goes as a multipart upload (parts of
  // `part_size`, at least 5 MiB as S3 requires; each part with its own
  // checksums); a failed one is aborted. Smaller bodies are one PUT.
  core::Status upload(std::string_view key, std::span<const std::byte> body, std::string_view content_type,
                      std::size_t part_size);
  core::Result<std::string> get_object(std::string_view key);
  // Deletes up to 1,000 objects in one request (DeleteObjects); keys that
  // do not exist are no error.
  core::Status delete_objects(std::span<const std::string> keys);
  // The bucket exists and the credentials open it.
  core::Status check_bucket();

  // The base URL requests go to ("http://127.0.0.1:4569/bucket").
  const std::string& bucket_url() const { return bucket_url_; }

 private:
  struct Reply {
    long status = 0;
    std::string body;
    std::string etag;
  };
  core::Status multipart_upload(std::string_view key, std::span<const std::byte> body, std::string_view content_type,
                                std::size_t part_size);
  core::Result<Reply> request(std::string_view method, const std::string& url, std::span<const std::byte> body,
                              std::vector<std::string> headers);
  std::string object_url(std::string_view key) const;

  S3Settings settings_;
  std::string bucket_url_;
  void* curl_;  // CURL*
};

// The message and details of a failed S3 request: what S3 said (its XML
// <Code> and <Message>), or what the status means.
core::Error s3_error(std::string_view operation, long status, std::string_view body);

// Percent-encodes an object key for a URL path, keeping '/'.
std::string encode_key(std::string_view key);

}  // namespace mirror::storage::s3
