// Reliable-link packets: header encoding and the resynchronising decoder.

#include <netcore/protocol/crc32c.hpp>
#include <netcore/session/link_packet.hpp>

#include <cstring>

namespace netcore::session {

using protocol::load_le;
using protocol::store_le;

namespace {

constexpr std::uint8_t magic0 = 0x4E;  // 'N'
constexpr std::uint8_t magic1 = 0x4C;  // 'L'

bool known(std::uint8_t kind) noexcept {
  return kind == static_cast<std::uint8_t>(link_kind::data) ||
         kind == static_cast<std::uint8_t>(link_kind::ack);
}

}  // namespace

void encode_link_header(const link_header& h, protocol::byte_view payload,
                        std::uint8_t* out) noexcept {
  out[0] = magic0;
  out[1] = magic1;
  out[2] = link_version;
  out[3] = static_cast<std::uint8_t>(h.kind);
  store_le(out + 4, h.seq, 4);
  store_le(out + 8, h.ack, 4);
  store_le(out + 12, h.sack, 4);
  store_le(out + 16, payload.size(), 2);
  store_le(out + 18, 0, 2);
  store_le(out + 20, payload.empty() ? 0 : protocol::crc32c(payload), 4);
  store_le(out + 24, protocol::crc32c({out, 24}), 4);
}

bool link_decoder::next(protocol::byte_view in, std::size_t& pos, link_header& h,
                        protocol::byte_view& payload) {
  const std::size_t size = in.size();
  while (size - pos >= link_header_size) {
    const std::uint8_t* p = in.data() + pos;
    if (p[0] != magic0 || p[1] != magic1 || p[2] != link_version) {
      // Skip to the next possible start of a header.
      const void* m = std::memchr(p + 1, magic0, size - pos - 1);
      const std::size_t to =
          m ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(m) - in.data()) : size;
      stats_.dropped_bytes += to - pos;
      pos = to;
      continue;
    }
    const std::size_t length = load_le(p + 16, 2);
    if (load_le(p + 24, 4) != protocol::crc32c({p, 24}) || !known(p[3]) || length > max_payload_ ||
        (p[3] == static_cast<std::uint8_t>(link_kind::ack) && length)) {
      ++stats_.corrupt_headers;
      ++stats_.dropped_bytes;
      ++pos;
      continue;
    }
    if (size - pos < link_header_size + length) return false;  // the rest is still coming
    const protocol::byte_view body{p + link_header_size, length};
    if (load_le(p + 20, 4) != (length == 0 ? 0 : protocol::crc32c(body))) {
      // The header verified but the payload did not: bytes were lost or changed inside it. Its
      // length may run into the next packets, so scanning resumes right after the magic.
      ++stats_.corrupt_payloads;
      ++stats_.dropped_bytes;
      ++pos;
      continue;
    }
    h.kind = static_cast<link_kind>(p[3]);
    h.seq = static_cast<std::uint32_t>(load_le(p + 4, 4));
    h.ack = static_cast<std::uint32_t>(load_le(p + 8, 4));
    h.sack = static_cast<std::uint32_t>(load_le(p + 12, 4));
    h.length = static_cast<std::uint16_t>(length);
    payload = body;
    ++stats_.packets;
    pos += link_header_size + length;
    return true;
  }
  return false;
}

}  // namespace netcore::session
