#include <netcore/protocol/frame.hpp>

#include <netcore/protocol/crc32c.hpp>
#include <netcore/protocol/encoder.hpp>

namespace netcore::protocol {

const char* to_string(frame_type t) noexcept {
  switch (t) {
  case frame_type::open:
    return "open";
  case frame_type::data:
    return "data";
  case frame_type::end:
    return "end";
  case frame_type::cancel:
    return "cancel";
  case frame_type::error:
    return "error";
  case frame_type::credit:
    return "credit";
  case frame_type::ping:
    return "ping";
  case frame_type::pong:
    return "pong";
  case frame_type::goaway:
    return "goaway";
  case frame_type::hello:
    return "hello";
  }
  return "unknown";
}

namespace {
constexpr std::size_t checked_size = header_size - 4;  // bytes covered by the header CRC
}  // namespace

void pack_header(const frame_header& h, std::uint8_t* out) noexcept {
  out[0] = magic0;
  out[1] = magic1;
  out[2] = h.version;
  out[3] = static_cast<std::uint8_t>(h.type);
  out[4] = h.flags;
  store_le(out + 5, h.payload_length, 3);
  store_le(out + 8, h.message_id, 8);
  store_le(out + 16, h.argument, 8);
  store_le(out + 24, h.payload_crc, 4);
  store_le(out + 28, crc32c(byte_view{out, checked_size}), 4);
}

errc unpack_header(const std::uint8_t* in, frame_header& out) noexcept {
  if (in[0] != magic0 || in[1] != magic1) return errc::header_corrupt;
  auto stored = static_cast<std::uint32_t>(load_le(in + 28, 4));
  if (crc32c(byte_view{in, checked_size}) != stored) return errc::header_corrupt;
  if (in[2] != protocol_version) return errc::unsupported_version;
  out.version = in[2];
  out.type = static_cast<frame_type>(in[3]);
  out.flags = in[4];
  out.payload_length = static_cast<std::uint32_t>(load_le(in + 5, 3));
  out.message_id = load_le(in + 8, 8);
  out.argument = load_le(in + 16, 8);
  out.payload_crc = static_cast<std::uint32_t>(load_le(in + 24, 4));
  return errc::ok;
}

}  // namespace netcore::protocol
