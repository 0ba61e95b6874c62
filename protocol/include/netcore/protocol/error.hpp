#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace netcore::protocol {

/// Every way the wire protocol, a peer or local storage can fail. Values are stable: they travel
/// in ERROR and CANCEL frames (docs/PROTOCOL.md, "Error codes"), so never renumber them.
enum class errc : int {
  ok = 0,
  // -- framing --
  header_corrupt = 1,       ///< Bad magic or header checksum; the decoder resynchronises.
  unsupported_version = 2,  ///< A valid header of a protocol version this build does not speak.
  frame_too_large = 3,      ///< Payload length above limits::max_frame_payload.
  payload_corrupt = 4,      ///< Payload CRC32C mismatch; the frame's message fails.
  malformed_frame = 5,      ///< A frame whose payload does not parse for its type.
  // -- messages --
  unknown_message = 10,     ///< DATA/END/CANCEL for a message id that is not open.
  duplicate_message = 11,   ///< OPEN for a message id that is already open.
  offset_mismatch = 12,     ///< DATA whose offset is not the next expected byte.
  size_mismatch = 13,       ///< More or fewer bytes than the OPEN frame declared.
  digest_mismatch = 14,     ///< The whole-message XXH3 digest does not match.
  message_too_large = 15,   ///< Declared or received size above limits::max_message_size.
  too_many_messages = 16,   ///< Above limits::max_concurrent_messages.
  metadata_too_large = 17,  ///< Route or headers above their limits.
  memory_limit = 18,        ///< In-memory buffering above limits::max_buffered_bytes.
  idle_timeout = 19,        ///< No frame for an open message within limits::idle_timeout.
  cancelled = 20,           ///< The message was cancelled (by either side).
  flow_control = 21,        ///< The peer sent more than the credit it was granted.
  flood = 22,               ///< The peer sent control frames (e.g. PINGs) faster than allowed.
  // -- storage --
  storage_failed = 30,  ///< Creating, writing or reading a spill file failed (e.g. a full disk).
  // -- payload codecs --
  decode_failed = 40,          ///< A body does not parse as its content type.
  content_type_mismatch = 41,  ///< The body carries another content type than the one asked for.
  // -- connection --
  disconnected = 50,    ///< The transport closed or failed.
  peer_timeout = 51,    ///< The peer stayed silent beyond the keepalive limit.
  going_away = 52,      ///< The peer sent GOAWAY; no new messages are accepted.
  protocol_error = 53,  ///< The peer violated the protocol badly enough to end the connection.
  shutting_down = 54,   ///< The local side is closing.
  send_failed = 55,     ///< The transport refused bytes.
  timed_out = 56,       ///< A local wait (e.g. for an incoming message) ran out of time.
  unknown_route = 60,   ///< No handler is registered for a route.
  internal_error = 99,  ///< A bug: an invariant did not hold.
};

/// A short, stable, human-readable name for `e` (e.g. "digest_mismatch").
std::string_view to_string(errc e) noexcept;

/// The code a frame's argument names: a code this build knows is kept, anything else (codes of
/// newer versions, garbage) becomes `fallback`.
errc errc_from_wire(std::uint64_t code, errc fallback) noexcept;

/// The std::error_category of netcore protocol errors (name "netcore").
const std::error_category& protocol_category() noexcept;

/// Wraps `e` in a std::error_code of protocol_category().
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace netcore::protocol

namespace std {
template <>
struct is_error_code_enum<netcore::protocol::errc> : true_type {};
}  // namespace std
