#include "storage/cached_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mirror::storage {

core::Result<std::string> read_cached_file(const std::string& path, std::size_t max_bytes) {
  const std::string name = std::filesystem::path(path).filename().string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Error(errno == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kInternal,
                       fmt::format("cannot open {}: {}", name, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return core::Error(core::ErrorCode::kInternal, fmt::format("{} is larger than any segment may be", name));
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != bytes.size()) {
    return core::Error(core::ErrorCode::kInternal, fmt::format("{} was cut short while reading it", name));
  }
  return bytes;
}

}  // namespace mirror::storage
