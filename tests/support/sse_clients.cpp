#include "support/sse_clients.h"

#include <poll.h>
#include <unistd.h>

namespace mirror::testing {

SseClients::SseClients(int port, const std::string& path, int count, const std::map<std::string, std::string>& headers) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  clients_.resize(static_cast<std::size_t>(count));
  for (auto& c : clients_) {
    c.connection = std::make_unique<RawConnection>(port);
    c.open = c.connection->connected() && c.connection->send(request);
  }
}

int SseClients::connected() const {
  int n = 0;
  for (const auto& c : clients_) n += c.open ? 1 : 0;
  return n;
}

int SseClients::read_until(const std::function<bool(std::string_view)>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<bool> finished(clients_.size(), false);
  int count = 0;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    count = 0;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (!finished[i] && done(clients_[i].text)) finished[i] = true;
      if (finished[i]) {
        ++count;
        continue;
      }
      if (!clients_[i].open) continue;
      fds.push_back({clients_[i].connection->fd(), POLLIN, 0});
      index.push_back(i);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (fds.empty() || left.count() <= 0) return count;
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 100))) < 0) return count;
    char buffer[16384];
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto& c = clients_[index[k]];
      const ssize_t n = ::read(fds[k].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        c.open = false;
        continue;
      }
      c.text.append(buffer, static_cast<std::size_t>(n));
    }
  }
}

void SseClients::close() {
  for (auto& c : clients_) {
    c.connection.reset();
    c.open = false;
  }
}

}  // namespace mirror::testing
