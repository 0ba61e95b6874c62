#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <atomic>
#include <functional>
#include <memory>

namespace netcore::transports {

/// A user-supplied blocking send/receive pair: a socket, a serial port, anything. This is the
/// whole promise of the original library: give it send and receive.
///
/// `send(data, size)` returns how many bytes it took (may be fewer than `size`: short writes are
/// retried with the rest) or a negative value on failure. `recv(buf, max)` returns how many bytes
/// it stored (may be fewer than `max`), 0 when the other side closed, negative on failure.
/// `close()` is called once when the stream closes and must make a blocked `send`/`recv` return
/// (e.g. shutdown() a socket): without it a reader blocked in `recv` could never be stopped, so
/// it is required.
struct pipe_functions {
  std::function<long(const std::uint8_t* data, std::size_t size)> send;
  std::function<long(std::uint8_t* buf, std::size_t max)> recv;
  std::function<void()> close;
};

/// A byte_stream over `fns`. Its reads block, so the runtime serves it with a reader and a writer
/// thread of its own (the one exception to the shared event loop). Errors:
/// transport_errc::invalid_argument when one of the three functions is missing.
result<std::unique_ptr<byte_stream>> make_pipe_stream(pipe_functions fns,
                                                      stream_profile profile = {});

}  // namespace netcore::transports
