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
  enum class stop_bits { one, one_point_five, two } stop = stop_bits::one;
  enum class flow_control { none, software, hardware } flow = flow_control::none;
  unsigned character_size = 8;
};

/// Opens the serial device at `path` (e.g. /dev/ttyUSB0, or a pty from socat).
/// Errors: errc::disconnected when it cannot be opened or configured.
/// Its profile has small chunks (a chunk's time on a slow line delays everyone else) and is
/// marked lossy.
result<std::unique_ptr<byte_stream>> serial_open(const std::string& path,
                                                 const serial_options& opts = {});

}  // namespace netcore::transports
