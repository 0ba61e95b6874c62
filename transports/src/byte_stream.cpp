#include <netcore/transports/byte_stream.hpp>

namespace netcore::transports {

result<std::size_t> byte_stream::try_write(const io_slice*, std::size_t) {
  return std::size_t{0};
}

result<std::size_t> byte_stream::try_read(std::uint8_t*, std::size_t) {
  return std::error_code{transport_errc::not_pollable};
}

}  // namespace netcore::transports
