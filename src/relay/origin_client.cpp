#include "relay/origin_client.h"

#include <curl/curl.h>

#include <mutex>

namespace mirror::relay {
namespace {

struct Sink {
  std::string* body;
  std::size_t max;
  bool too_large = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->body->size() + n > sink->max) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, n);
  return n;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* flag = static_cast<const std::atomic<bool>*>(user);
  return flag != nullptr && flag->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

OriginClient::OriginClient(std::string base_url) : base_url_(std::move(base_url)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

OriginClient::~OriginClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

core::Result<OriginReply> OriginClient::get(const std::string& path, std::chrono::milliseconds timeout,
                                            std::size_t max_body) {
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return core::Error(core::ErrorCode::kInternal, "relay: curl_easy_init failed");
  OriginReply reply;
  Sink sink{&reply.body, max_body};
  const std::string url = base_url_ + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // Nodes reach each other by their advertised URLs; a self-signed
  // certificate there is the operator's choice, so only plain HTTP or a
  // verified HTTPS origin is used.
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mirror-relay");
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort_));
  const CURLcode rc = curl_easy_perform(curl);
  bytes_received_ += reply.body.size();
  if (sink.too_large) {
    return core::Error(core::ErrorCode::kInvalidInput, "the origin's answer is too large", {{"url", url}});
  }
  if (rc != CURLE_OK) {
    return core::Error(core::ErrorCode::kServiceUnavailable, std::string("origin unreachable: ") + curl_easy_strerror(rc),
                       {{"url", url}});
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) reply.content_type = type;
  return reply;
}

}  // namespace mirror::relay
