#include <netcore/protocol/message_body.hpp>

#include <cerrno>
#include <limits>
#include <new>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace netcore::protocol {

message_body message_body::in_memory(byte_buffer bytes) {
  message_body body;
  body.bytes_ = std::move(bytes);
  return body;
}

message_body message_body::in_file(std::string path, std::uint64_t size) {
  message_body body;
  body.path_ = std::move(path);
  body.file_size_ = body.path_.empty() ? 0 : size;
  return body;
}

result<byte_buffer> message_body::read_all() const {
  if (!is_file()) return bytes_;
  if (file_size_ > std::numeric_limits<std::size_t>::max()) return errc::storage_failed;

  int fd;
  do {
    fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errc::storage_failed;

  byte_buffer out;
  try {
    out.resize(static_cast<std::size_t>(file_size_));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return errc::storage_failed;
  }

  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return errc::storage_failed;
    }
    if (n == 0) {  // the file is shorter than the body it should hold
      ::close(fd);
      return errc::storage_failed;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return out;
}

void message_body::remove_file() noexcept {
  if (is_file()) ::unlink(path_.c_str());
  std::string().swap(path_);
  file_size_ = 0;
  byte_buffer().swap(bytes_);
}

}  // namespace netcore::protocol
