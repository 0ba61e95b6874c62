#include <netcore/transports/pipe_stream.hpp>

#include <utility>

namespace netcore::transports {

pipe_stream::pipe_stream(pipe_functions fns, stream_profile profile)
    : fns_(std::move(fns)), profile_(profile) {}

errc pipe_stream::write(const io_slice* slices, std::size_t count) {
  if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
  if (!fns_.send) return errc::send_failed;
  for (std::size_t i = 0; i < count; ++i) {
    auto* data = static_cast<const std::uint8_t*>(slices[i].data);
    std::size_t left = slices[i].size;
    while (left > 0) {
      if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
      const long n = fns_.send(data, left);
      if (n < 0 || static_cast<unsigned long>(n) > left) {
        // A failure caused by close() (which unblocks a pending send) is a disconnect.
        return closed_.load(std::memory_order_acquire) ? errc::disconnected : errc::send_failed;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  return errc::ok;
}

result<std::size_t> pipe_stream::read(std::uint8_t* buf, std::size_t max) {
  if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
  if (max == 0) return std::size_t{0};
  if (!fns_.recv) return errc::disconnected;
  const long n = fns_.recv(buf, max);
  if (n <= 0 || static_cast<unsigned long>(n) > max) return errc::disconnected;
  return static_cast<std::size_t>(n);
}

void pipe_stream::close() noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  if (!fns_.close) return;
  try {
    fns_.close();
  } catch (...) {
    // close() is noexcept: a throwing user callback must not escape.
  }
}

}  // namespace netcore::transports
