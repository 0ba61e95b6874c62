#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace netcore::transports {

/// Serial line settings.
struct serial_options {
  unsigned baud = 115200;
  enum class parity { none, odd, even } parity_mode = parity::none;
  enum class stop_bits { one, two } stop = stop_bits::one;
  enum class flow_control { none, software, hardware } flow = flow_control::none;
  unsigned character_size = 8;
};

/// The tuning of a serial line at `baud`: chunks of about 5 ms of line time (a chunk on a slow
/// line delays everyone else), marked lossy.
stream_profile serial_profile(unsigned baud) noexcept;

/// Opens the serial device at `path` (e.g. /dev/ttyUSB0, or a pty from socat) in raw mode with
/// `opts`. Errors: the OS error (std::errc::no_such_file_or_directory for a missing device,
/// std::errc::permission_denied, std::errc::inappropriate_io_control_operation when `path` is no
/// terminal), transport_errc::invalid_argument for a baud rate or character size the line cannot
/// take.
result<std::unique_ptr<byte_stream>> serial_open(const std::string& path,
                                                 const serial_options& opts = {});

}  // namespace netcore::transports
