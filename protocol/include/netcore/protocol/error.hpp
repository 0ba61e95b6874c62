#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace netcore::protocol {

/// The wire codes: what travels in CANCEL, ERROR and GOAWAY frames (docs/PROTOCOL.md, "Error
/// codes"). Values are stable, never renumber them; numbers that are not listed are free or
/// retired. Local conditions (a full queue, a timed-out wait, a transport failure, a body that
/// does not decode) have their own enums in the layers that detect them.
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
  transform_failed = 23,    ///< A body that does not undo its transforms (e.g. corrupt zstd data).
  unsupported_transform = 24,  ///< A message with a transform the receiver did not announce.
  // -- storage --
  storage_failed = 30,  ///< The receiver could not store the body (e.g. a full disk).
  storage_full = 31,    ///< The receiver's spill quota (files or bytes) or its disk has no room.
  // -- connection (GOAWAY reasons) --
  peer_timeout = 51,    ///< The sender of this code heard nothing for too long.
  going_away = 52,      ///< The sender is going away; no new messages are accepted.
  protocol_error = 53,  ///< The peer violated the protocol badly enough to end the connection.
  shutting_down = 54,   ///< The sender of this code is closing.
  refused = 57,         ///< The sender does not take this connection (a limit or its policy).
  internal_error = 99,  ///< A bug: an invariant did not hold.
};

/// A short, stable, human-readable name for `e` (e.g. "digest_mismatch").
std::string_view to_string(errc e) noexcept;

/// The code a frame's argument names: a code this build knows is kept, anything else (codes of
/// newer versions, garbage) becomes `fallback`.
errc errc_from_wire(std::uint64_t code, errc fallback) noexcept;

/// The std::error_category of the wire codes (name "netcore.wire").
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
