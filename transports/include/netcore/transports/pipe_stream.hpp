#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <atomic>
#include <functional>
#include <memory>

namespace netcore::transports {

/// A byte_stream over any user-supplied blocking send/receive pair: a socket, a serial port,
/// anything. This is the whole promise of the original library: give it send and receive.
///
/// `send(data, size)` returns how many bytes it took (may be fewer than `size`: short writes are
/// retried with the rest) or a negative value on failure. `recv(buf, max)` returns how many bytes
/// it stored (may be fewer than `max`), 0 when the other side closed, negative on failure.
/// `close` (optional) is called once by close() to unblock a pending send/recv.
struct pipe_functions {
  std::function<long(const std::uint8_t* data, std::size_t size)> send;
  std::function<long(std::uint8_t* buf, std::size_t max)> recv;
  std::function<void()> close;
};

/// byte_stream adapter for pipe_functions.
class pipe_stream final : public byte_stream {
 public:
  explicit pipe_stream(pipe_functions fns, stream_profile profile = {});
  errc write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override;
  void close() noexcept override;
  stream_profile profile() const override { return profile_; }
  std::string describe() const override { return "pipe"; }

 private:
  pipe_functions fns_;
  stream_profile profile_;
  std::atomic<bool> closed_{false};
};

}  // namespace netcore::transports
