#pragma once

#include <netcore/protocol/bytes.hpp>

#include <cstdint>
#include <limits>

namespace netcore::protocol {

/// Wire format version spoken by this build (docs/PROTOCOL.md).
inline constexpr std::uint8_t protocol_version = 1;
/// First two bytes of every frame: 'N', 'C'.
inline constexpr std::uint8_t magic0 = 0x4E;
inline constexpr std::uint8_t magic1 = 0x43;
/// Size of the fixed frame header in bytes.
inline constexpr std::size_t header_size = 32;
/// Largest payload the 24-bit length field can carry.
inline constexpr std::uint32_t max_wire_payload = (1u << 24) - 1;
/// OPEN's argument when the total size of a message is not known up front.
inline constexpr std::uint64_t unknown_size = std::numeric_limits<std::uint64_t>::max();
/// Size of the whole-message XXH3-64 digest carried by END (and by single-frame OPEN).
inline constexpr std::size_t digest_size = 8;

/// Bytes a frame with `payload` payload bytes occupies on the wire. Connection-level credit
/// counts these for OPEN, DATA and END frames (docs/PROTOCOL.md, "CREDIT").
constexpr std::uint64_t wire_size(std::uint64_t payload) noexcept {
  return header_size + payload;
}

/// Frame types. Receivers skip types they do not know (forward compatibility).
enum class frame_type : std::uint8_t {
  open = 0x01,    ///< Starts a message: route, content type, priority, headers.
  data = 0x02,    ///< A chunk of a message body; argument = byte offset.
  end = 0x03,     ///< Ends a message; argument = total size, payload = XXH3-64 digest.
  cancel = 0x04,  ///< Abandons a message (either side); argument = errc, payload = reason.
  error = 0x05,   ///< Reports an error; argument = errc, payload = text.
  credit = 0x06,  ///< Grants flow-control credit; argument = byte increment.
  ping = 0x07,    ///< Keepalive probe; argument = opaque token.
  pong = 0x08,    ///< Keepalive answer; argument = the ping's token.
  goaway = 0x09,  ///< The sender opens no new messages; argument = errc, payload = text.
  hello = 0x0A,   ///< Connection settings (sent first); payload = settings list.
};

/// True for the types this build understands.
constexpr bool is_known(frame_type t) noexcept {
  return static_cast<std::uint8_t>(t) >= 0x01 && static_cast<std::uint8_t>(t) <= 0x0A;
}

/// A short name for `t` ("open", "data", ...; "unknown" otherwise).
const char* to_string(frame_type t) noexcept;

/// Frame flag bits.
namespace flags {
/// The message id belongs to the id space of the frame's *receiver* (e.g. a CANCEL or CREDIT
/// sent by the receiving side of a message). Without it, the id is the sender's own.
inline constexpr std::uint8_t peer_origin = 0x01;
/// OPEN only: the frame carries the whole body and its digest; no DATA or END follows.
inline constexpr std::uint8_t single = 0x02;
/// OPEN only: the metadata block starts with a call block (a request, its response, or the
/// withdrawal of a request: docs/PROTOCOL.md, "Calls").
inline constexpr std::uint8_t call = 0x04;
/// OPEN only: the payload starts with a transform block (before any call block): the body on the
/// wire is the result of the transforms it names, in order (docs/PROTOCOL.md, "Transforms").
inline constexpr std::uint8_t transformed = 0x08;
}  // namespace flags

/// Who allocated a message id. Each side numbers its own messages, so ids never collide
/// without coordination: the pair (origin, id) names a message within a connection.
enum class origin : std::uint8_t { local, remote };

/// The decoded fixed header of one frame.
struct frame_header {
  frame_type type = frame_type::data;
  std::uint8_t flags = 0;
  std::uint8_t version = protocol_version;
  std::uint32_t payload_length = 0;
  std::uint64_t message_id = 0;
  std::uint64_t argument = 0;
  std::uint32_t payload_crc = 0;
};

/// A decoded frame: its header and a view of its payload. The payload view is valid until the
/// next call into the decoder that produced it.
struct frame_view {
  frame_header header;
  byte_view payload;
};

}  // namespace netcore::protocol
