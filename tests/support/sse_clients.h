// Test support: many clients of a server-sent-event stream (or any endless
// HTTP answer) read on one thread with poll(), each keeping what it got.
#pragma once

#include "support/http_client.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::testing {

class SseClients {
 public:
  // Opens `count` connections to 127.0.0.1:port and sends GET `path` on each.
  SseClients(int port, const std::string& path, int count, const std::map<std::string, std::string>& headers = {});

  int size() const { return static_cast<int>(clients_.size()); }
  // Clients whose connection opened and took the request.
  int connected() const;
  // Reads until every client's text satisfies `done` or `timeout` passes;
  // returns how many do.
  int read_until(const std::function<bool(std::string_view text)>& done, std::chrono::milliseconds timeout);
  int read_until_all_contain(std::string_view needle, std::chrono::milliseconds timeout) {
    return read_until([needle](std::string_view t) { return t.find(needle) != std::string_view::npos; }, timeout);
  }
  const std::string& text(int i) const { return clients_[static_cast<std::size_t>(i)].text; }
  // Closes every connection.
  void close();

 private:
  struct Client {
    std::unique_ptr<RawConnection> connection;
    std::string text;
    bool open = false;
  };
  std::vector<Client> clients_;
};

}  // namespace mirror::testing
