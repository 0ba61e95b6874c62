#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/serial_stream.hpp>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace netcore::transports {

namespace {

speed_t speed_of(unsigned baud) noexcept {
  switch (baud) {
  case 1200:
    return B1200;
  case 2400:
    return B2400;
  case 4800:
    return B4800;
  case 9600:
    return B9600;
  case 19200:
    return B19200;
  case 38400:
    return B38400;
  case 57600:
    return B57600;
  case 115200:
    return B115200;
  case 230400:
    return B230400;
  case 460800:
    return B460800;
  case 500000:
    return B500000;
  case 921600:
    return B921600;
  case 1000000:
    return B1000000;
  case 2000000:
    return B2000000;
  case 3000000:
    return B3000000;
  case 4000000:
    return B4000000;
  default:
    return B0;
  }
}

std::error_code configure(int fd, const serial_options& opts) {
  termios t{};
  if (::tcgetattr(fd, &t) != 0) return os_error(errno);
  ::cfmakeraw(&t);
  const speed_t speed = speed_of(opts.baud);
  if (speed == B0) return transport_errc::invalid_argument;
  ::cfsetispeed(&t, speed);
  ::cfsetospeed(&t, speed);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~CSIZE;
  switch (opts.character_size) {
  case 5:
    t.c_cflag |= CS5;
    break;
  case 6:
    t.c_cflag |= CS6;
    break;
  case 7:
    t.c_cflag |= CS7;
    break;
  case 8:
    t.c_cflag |= CS8;
    break;
  default:
    return transport_errc::invalid_argument;
  }
  t.c_cflag &= ~(PARENB | PARODD);
  if (opts.parity_mode == serial_options::parity::odd) t.c_cflag |= PARENB | PARODD;
  if (opts.parity_mode == serial_options::parity::even) t.c_cflag |= PARENB;
  if (opts.stop == serial_options::stop_bits::two)
    t.c_cflag |= CSTOPB;
  else
    t.c_cflag &= ~CSTOPB;
  t.c_cflag &= ~CRTSCTS;
  t.c_iflag &= ~(IXON | IXOFF | IXANY);
  if (opts.flow == serial_options::flow_control::hardware) t.c_cflag |= CRTSCTS;
  if (opts.flow == serial_options::flow_control::software) t.c_iflag |= IXON | IXOFF;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &t) != 0) return os_error(errno);
  return {};
}

}  // namespace

stream_profile serial_profile(unsigned baud) noexcept {
  stream_profile p;
  // About 5 ms of line time per chunk (10 bits per byte with start and stop bits).
  const double per_5ms = static_cast<double>(baud) / 10.0 * 0.005;
  p.chunk_size = static_cast<std::size_t>(std::clamp(per_5ms, 64.0, 4096.0));
  p.write_batch = 4 * p.chunk_size;
  p.read_size = 4096;
  p.lossy = true;
  p.bytes_per_second = baud / 10;
  return p;
}

result<std::unique_ptr<byte_stream>> serial_open(const std::string& path,
                                                 const serial_options& opts) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return os_error(errno);
  if (auto e = configure(fd, opts)) {
    ::close(fd);
    return e;
  }
  auto s = fd_stream::adopt(fd, fd_stream::kind::other, serial_profile(opts.baud),
                            "serial " + path + " " + std::to_string(opts.baud));
  if (!s) return s.error();
  return std::unique_ptr<byte_stream>(std::move(*s));
}

}  // namespace netcore::transports
