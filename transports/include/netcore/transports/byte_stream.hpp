#pragma once

#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netcore::transports {

using protocol::errc;
using protocol::io_slice;
using protocol::result;

/// Per-transport tuning the runtime applies to a connection: one chunk on the wire is the unit of
/// delay for every other message, so a slow serial line wants small chunks and a fast socket
/// large ones.
struct stream_profile {
  /// Body bytes per DATA frame.
  std::size_t chunk_size = 64u << 10;
  /// Target bytes per vectored write (many chunks coalesced).
  std::size_t write_batch = 1u << 20;
  /// Bytes asked of each read().
  std::size_t read_size = 1u << 20;
  /// Whether the byte stream may corrupt or lose bytes (serial lines): informational.
  bool lossy = false;
};

/// A blocking, ordered, reliable-or-not byte stream: what every transport provides.
///
/// One thread reads and another writes at the same time; close() may be called from any thread
/// and unblocks both. Implementations handle short reads and short writes themselves.
class byte_stream {
 public:
  virtual ~byte_stream() = default;

  /// Writes every byte of `slices[0..count)`, in order, blocking as needed.
  /// Errors: errc::disconnected (peer gone or stream closed), errc::send_failed.
  virtual errc write(const io_slice* slices, std::size_t count) = 0;

  /// Writes as many bytes of `slices[0..count)` as the stream takes without blocking, in order,
  /// and returns how many that was (0 when none). The default takes none: the runtime then hands
  /// every write to its writer thread. Errors: as write().
  virtual result<std::size_t> try_write(const io_slice* slices, std::size_t count) {
    (void)slices;
    (void)count;
    return std::size_t{0};
  }

  /// Reads at least one and at most `max` bytes into `buf`, blocking until some arrive.
  /// Returns the count, or errc::disconnected when the stream ended (orderly or not).
  virtual result<std::size_t> read(std::uint8_t* buf, std::size_t max) = 0;

  /// Closes the stream: pending and later read()/write() calls fail with errc::disconnected.
  /// Idempotent and thread-safe.
  virtual void close() noexcept = 0;

  /// Tuning defaults for this kind of stream.
  virtual stream_profile profile() const { return {}; }

  /// A short description for logs (e.g. "tcp 127.0.0.1:4000").
  virtual std::string describe() const = 0;
};

}  // namespace netcore::transports
