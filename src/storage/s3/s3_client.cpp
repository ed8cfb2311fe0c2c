#include "storage/s3/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace mirror::storage::s3 {
namespace {

std::string hex(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string base64(std::span<const unsigned char> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The digest of `body` with `md` (SHA-256, MD5).
std::vector<unsigned char> digest(const EVP_MD* md, std::span<const std::byte> body) {
  std::vector<unsigned char> out(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  EVP_Digest(body.data(), body.size(), out.data(), &size, md, nullptr);
  out.resize(size);
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml` (S3's answers are small).
std::string xml_text(std::string_view xml, std::string_view tag) {
  const auto open = fmt::format("<{}>", tag);
  const auto close = fmt::format("</{}>", tag);
  const auto at = xml.find(open);
  if (at == std::string_view::npos) return {};
  const auto from = at + open.size();
  const auto to = xml.find(close, from);
  if (to == std::string_view::npos || to - from > 1024) return {};
  return std::string(xml.substr(from, to - from));
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  // An answer larger than any segment Mirror stores is not read on.
  if (body->size() + size * count > (256u << 20)) return 0;
  body->append(data, size * count);
  return size * count;
}

// Keeps the ETag of an answer's headers.
std::size_t header_line(char* data, std::size_t size, std::size_t count, void* out) {
  const std::string_view line(data, size * count);
  if (line.size() > 5 && (line.starts_with("ETag:") || line.starts_with("etag:") || line.starts_with("Etag:"))) {
    std::string_view value = line.substr(5);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    *static_cast<std::string*>(out) = std::string(value.substr(0, 256));
  }
  return size * count;
}

// Percent-encodes all but the unreserved characters (and '/' when kept).
std::string percent_encode(std::string_view value, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

// S3's smallest part (all but the last).
constexpr std::size_t kMinPartSize = 5u << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string encode_key(std::string_view key) { return percent_encode(key, /*keep_slash=*/true); }

core::Error s3_error(std::string_view operation, long status, std::string_view body) {
  const auto code = xml_text(body, "Code");
  const auto message = xml_text(body, "Message");
  std::string why;
  core::ErrorCode kind = core::ErrorCode::kServiceUnavailable;
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId") {
    why = "the credentials are wrong (storage.s3.access_key_id / secret_access_key)";
    kind = core::ErrorCode::kUnauthorized;
  } else if (code == "NoSuchBucket") {
    why = "the bucket does not exist (storage.s3.bucket)";
    kind = core::ErrorCode::kNotFound;
  } else if (code == "NoSuchKey") {
    why = "no such object";
    kind = core::ErrorCode::kNotFound;
  } else if (code == "AccessDenied" || status == 403) {
    why = "access denied";
    kind = core::ErrorCode::kForbidden;
  } else if (code == "BadDigest" || code == "InvalidDigest" || code == "XAmzContentSHA256Mismatch") {
    why = "the bytes changed on the way (checksum mismatch)";
  } else if (status >= 500) {
    why = "the S3 server failed";
  } else if (status == 404) {
    why = "not found";
    kind = core::ErrorCode::kNotFound;
  } else {
    why = "refused";
  }
  return core::Error(kind, fmt::format("S3 {}: {}{}", operation, why, message.empty() ? "" : " (" + message + ")"),
                     {{"status", status}, {"s3_code", code}});
}

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)) {
  global_init();
  curl_ = curl_easy_init();
  std::string endpoint = settings_.endpoint;
  if (endpoint.empty()) {
    endpoint = fmt::format("{}://s3.{}.amazonaws.com", settings_.use_ssl ? "https" : "http", settings_.region);
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  bucket_url_ = endpoint + "/" + encode_key(settings_.bucket);
}

S3Client::~S3Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string S3Client::object_url(std::string_view key) const { return bucket_url_ + "/" + encode_key(key); }

core::Result<S3Client::Reply> S3Client::request(std::string_view method, const std::string& url,
                                                std::span<const std::byte> body, std::vector<std::string> headers) {
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) return core::Error(core::ErrorCode::kInternal, "S3: libcurl could not start");
  curl_easy_reset(curl);  // keeps the connection cache
  Reply reply;
  const std::string method_text(method);
  const std::string userpwd = settings_.access_key_id + ":" + settings_.secret_access_key;
  const std::string sigv4 = fmt::format("aws:amz:{}:s3", settings_.region);
  // The payload's hash is signed: curl 7.88 wants it as a header.
  headers.push_back("x-amz-content-sha256: " + hex(digest(EVP_sha256(), body)));
  if (method == "PUT" || method == "POST") {
    headers.push_back("Content-MD5: " + base64(digest(EVP_md5(), body)));
  }
  curl_slist* list = nullptr;
  // (No "Expect:" to suppress 100-continue: curl 7.88 would sign the empty
  // header it then does not send.)
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.etag);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(body.data()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       fmt::format("S3 {}: cannot reach {} ({})", method_text, bucket_url_, curl_easy_strerror(rc)),
                       {{"curl_code", static_cast<int>(rc)}});
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

core::Status S3Client::put_object(std::string_view key, std::span<const std::byte> body,
                                  std::string_view content_type) {
  auto reply = request("PUT", object_url(key), body, {"Content-Type: " + std::string(content_type)});
  if (!reply) return reply.error();
  if (reply->status != 200) return s3_error("PUT", reply->status, reply->body);
  return core::Ok{};
}

core::Status S3Client::upload(std::string_view key, std::span<const std::byte> body, std::string_view content_type,
                              std::size_t part_size) {
  part_size = std::max(part_size, kMinPartSize);
  if (body.size() <= part_size) return put_object(key, body, content_type);
  return multipart_upload(key, body, content_type, part_size);
}

core::Status S3Client::multipart_upload(std::string_view key, std::span<const std::byte> body,
                                        std::string_view content_type, std::size_t part_size) {
  auto created = request("POST", object_url(key) + "?uploads=", {}, {"Content-Type: " + std::string(content_type)});
  if (!created) return created.error();
  if (created->status != 200) return s3_error("CreateMultipartUpload", created->status, created->body);
  const std::string upload_id = xml_text(created->body, "UploadId");
  if (upload_id.empty()) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "S3 CreateMultipartUpload: no UploadId in the answer");
  }
  const std::string id_param = "uploadId=" + percent_encode(upload_id, /*keep_slash=*/false);
  auto abort = [&](core::Error e) {
    (void)request("DELETE", object_url(key) + "?" + id_param, {}, {});
    return e;
  };
  std::string complete = "<CompleteMultipartUpload>";
  int number = 1;
  for (std::size_t at = 0; at < body.size(); at += part_size, ++number) {
    const auto part = body.subspan(at, std::min(part_size, body.size() - at));
    auto reply = request("PUT", fmt::format("{}?partNumber={}&{}", object_url(key), number, id_param), part, {});
    if (!reply) return abort(reply.error());
    if (reply->status != 200) return abort(s3_error("UploadPart", reply->status, reply->body));
    if (reply->etag.empty()) return abort(core::Error(core::ErrorCode::kServiceUnavailable, "S3 UploadPart: no ETag"));
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number, xml_escape(reply->etag));
  }
  complete += "</CompleteMultipartUpload>";
  auto done = request("POST", object_url(key) + "?" + id_param,
                      std::as_bytes(std::span(complete.data(), complete.size())), {"Content-Type: application/xml"});
  if (!done) return abort(done.error());
  // CompleteMultipartUpload may fail with status 200 and an <Error> body.
  if (done->status != 200 || done->body.find("<Error>") != std::string::npos) {
    return abort(s3_error("CompleteMultipartUpload", done->status, done->body));
  }
  return core::Ok{};
}

core::Result<std::string> S3Client::get_object(std::string_view key) {
  auto reply = request("GET", object_url(key), {}, {});
  if (!reply) return reply.error();
  if (reply->status != 200) return s3_error("GET", reply->status, reply->body);
  return std::move(reply->body);
}

core::Status S3Client::delete_objects(std::span<const std::string> keys) {
  if (keys.empty()) return core::Ok{};
  if (keys.size() > 1000) {
    return core::Error(core::ErrorCode::kInvalidInput, "S3 DeleteObjects takes at most 1,000 keys");
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
  for (const auto& k : keys) xml += "<Object><Key>" + xml_escape(k) + "</Key></Object>";
  xml += "</Delete>";
  auto reply = request("POST", bucket_url_ + "?delete=", std::as_bytes(std::span(xml.data(), xml.size())),
                       {"Content-Type: application/xml"});
  if (!reply) return reply.error();
  if (reply->status != 200) return s3_error("DeleteObjects", reply->status, reply->body);
  // Quiet mode lists only the keys that failed.
  if (reply->body.find("<Error>") != std::string::npos) {
    return s3_error("DeleteObjects", reply->status, reply->body.substr(reply->body.find("<Error>")));
  }
  return core::Ok{};
}

core::Status S3Client::check_bucket() {
  // A listing of at most one key: unlike HEAD, its refusal has a body that
  // says why.
  auto reply = request("GET", bucket_url_ + "?max-keys=1", {}, {});
  if (!reply) return reply.error();
  if (reply->status != 200) return s3_error("bucket check", reply->status, reply->body);
  return core::Ok{};
}

}  // namespace mirror::storage::s3
