#include <netcore/transports/byte_stream.hpp>

namespace netcore::transports {

std::string certificate_identity::sha256_hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sha256.size());
  for (auto b : sha256) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

result<std::size_t> byte_stream::try_write(const io_slice*, std::size_t) {
  return std::size_t{0};
}

result<std::size_t> byte_stream::try_read(std::uint8_t*, std::size_t) {
  return std::error_code{transport_errc::not_pollable};
}

}  // namespace netcore::transports
