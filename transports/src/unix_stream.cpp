#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/unix_stream.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netcore::transports {

stream_profile unix_profile() noexcept {
  stream_profile p;
  p.chunk_size = 64u << 10;
  p.write_batch = 1u << 20;
  p.read_size = 256u << 10;
  return p;
}

result<std::unique_ptr<byte_stream>> unix_connect(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return std::error_code{transport_errc::invalid_address};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error(errno);
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    const int e = errno;
    ::close(fd);
    return os_error(e);
  }
  auto s = fd_stream::adopt(fd, fd_stream::kind::socket, unix_profile(), "unix " + path);
  if (!s) return s.error();
  return std::unique_ptr<byte_stream>(std::move(*s));
}

}  // namespace netcore::transports
