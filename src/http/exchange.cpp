#include "http/exchange.h"

namespace mirror::http {

Exchange::~Exchange() {
  // Dropped by its handler without an answer (a bug; the transport answers
  // 500 on its own), or by a transport that never finished it: whoever
  // watches completions (access log, route metrics) still hears of it.
  finish(answered() ? 0 : 500, 0, true);
}

void Exchange::merge_default_headers(Headers& headers) const {
  for (const auto& [name, value] : response_headers_.fields()) {
    if (!headers.has(name)) headers.add(name, value);
  }
}

void Exchange::respond(Response response) {
  State expected = State::kPending;
  if (!state_.compare_exchange_strong(expected, State::kDone, std::memory_order_acq_rel)) return;
  merge_default_headers(response.headers);
  send_response(std::move(response));
}

void Exchange::respond_error(const core::Error& error) {
  respond(json_response(core::http_status(error.code), error.to_json_string()));
}

void Exchange::begin(int status, Headers headers) {
  State expected = State::kPending;
  if (!state_.compare_exchange_strong(expected, State::kStreaming, std::memory_order_acq_rel)) {
    return;
  }
  merge_default_headers(headers);
  send_head(status, std::move(headers));
}

void Exchange::write(std::string chunk) {
  if (state_.load(std::memory_order_acquire) != State::kStreaming || chunk.empty()) return;
  send_chunk(std::move(chunk));
}

void Exchange::write(core::SharedBytes chunk) {
  if (state_.load(std::memory_order_acquire) != State::kStreaming || chunk.empty()) return;
  send_shared_chunk(std::move(chunk));
}

void Exchange::end() {
  State expected = State::kStreaming;
  if (!state_.compare_exchange_strong(expected, State::kDone, std::memory_order_acq_rel)) return;
  send_end();
}

void Exchange::on_cancel(std::function<void()> callback) {
  {
    std::lock_guard lock(callbacks_mutex_);
    if (!cancelled_.load(std::memory_order_acquire)) {
      cancel_callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void Exchange::on_complete(std::function<void(const Completion&)> callback) {
  std::lock_guard lock(callbacks_mutex_);
  complete_callbacks_.push_back(std::move(callback));
}

void Exchange::cancel() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(callbacks_mutex_);
    if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
    callbacks.swap(cancel_callbacks_);
  }
  for (auto& cb : callbacks) cb();
}

void Exchange::finish(int status, std::uint64_t body_bytes, bool aborted) {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return;
  Completion c{status, body_bytes, std::chrono::steady_clock::now() - request_.received_at, aborted};
  std::vector<std::function<void(const Completion&)>> callbacks;
  {
    std::lock_guard lock(callbacks_mutex_);
    callbacks.swap(complete_callbacks_);
  }
  for (auto& cb : callbacks) cb(c);
}

}  // namespace mirror::http
