// R1 (docs/BENCHMARKS.md): the raw side of the hostile-peer benchmark. Plain TCP sockets that
// speak netcore frames written with protocol::encoder, a frame reader for what the server sends
// back, how a hostile connection ended as its client saw it, and a well-behaved client's round
// trip. Nothing here uses the runtime: the process that attacks never starts an actor system.
#pragma once

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace netcore::bench::hostile {

using clock_type = std::chrono::steady_clock;

/// Connects a blocking TCP socket to 127.0.0.1:`port` whose sends give up after `send_timeout`.
/// Returns the descriptor, or -1.
int dial(std::uint16_t port,
         std::chrono::milliseconds send_timeout = std::chrono::milliseconds{200});

/// What write_all() came to.
enum class write_status {
  done,       ///< every byte is written
  timed_out,  ///< the send timeout passed with bytes left (the server does not read)
  closed,     ///< the server closed or reset the connection
};

/// Writes `bytes` from `*offset` on, advancing `*offset`.
write_status write_all(int fd, const protocol::byte_buffer& bytes, std::size_t* offset);

/// The frames `f` appends to an encoder, as contiguous bytes.
protocol::byte_buffer frames(const std::function<void(protocol::encoder&)>& f);

/// A HELLO announcing the protocol's default settings.
protocol::byte_buffer hello();

/// Reads and decodes the frames a server sends on one socket.
class frame_reader {
 public:
  /// What next() found.
  enum class status { frame, timeout, closed, reset };

  explicit frame_reader(int fd);

  /// The next verified frame (valid until the following call), or why there is none by
  /// `deadline`.
  status next(clock_type::time_point deadline, protocol::frame_view& out);

 private:
  int fd_;
  protocol::decoder dec_;
  protocol::byte_buffer buf_;
  protocol::byte_view pending_;
};

/// How a hostile connection ended as its raw client saw it: "goaway <code>" for the first
/// GOAWAY with a nonzero code it read, else "closed" (end of stream), "reset", or "open" (the
/// server still held it when the client looked). Reads everything the server sent, waiting at
/// most `wait` for more; counts the frames read in `*frames` when given.
std::string ending(int fd, std::chrono::milliseconds wait, std::uint64_t* frames = nullptr);

/// A well-behaved client's visit after an attack: HELLO, then `samples` 100-byte requests,
/// each waiting for its echo.
struct round_trip {
  bool ok = false;        ///< every request came back in time
  double rtt_us = 0;      ///< median round trip of a request
  double connect_us = 0;  ///< connect until the server's HELLO was read
  std::string error;      ///< what failed, when not ok
};

/// Runs a well-behaved client against 127.0.0.1:`port`; each step may take `timeout`.
round_trip well_behaved(std::uint16_t port, int samples, std::chrono::milliseconds timeout);

}  // namespace netcore::bench::hostile
