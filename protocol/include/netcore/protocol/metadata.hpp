#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/limits.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netcore::protocol {

/// How a message body is encoded (travels in OPEN).
enum class content_type : std::uint8_t {
  raw = 0,      ///< Opaque bytes.
  text = 1,     ///< UTF-8 text.
  json = 2,     ///< JSON (nlohmann-json).
  msgpack = 3,  ///< MessagePack (msgpack-c).
};

/// A short name for `t` ("raw", "text", "json", "msgpack"; "unknown" otherwise).
const char* to_string(content_type t) noexcept;

/// One application header (name/value pair); names are case-sensitive bytes.
struct header_field {
  std::string name;
  std::string value;
  friend bool operator==(const header_field& a, const header_field& b) {
    return a.name == b.name && a.value == b.value;
  }
};

/// What makes a message part of a call (docs/PROTOCOL.md, "Calls"): correlation, the deadline
/// and the answer's status travel in the protocol, not in application headers.
struct call_info {
  enum class kind : std::uint8_t {
    request = 1,   ///< Asks for one response; the message's own id names the call.
    response = 2,  ///< Answers the request `request_id`.
    cancel = 3,    ///< Withdraws the request `request_id` (its answer is no longer wanted).
  };
  kind what = kind::request;
  /// Responses and cancels: the request's message id, in the requester's id space (the
  /// requester sent it). 0 for requests.
  std::uint64_t request_id = 0;
  /// Requests: the time the caller waits, in milliseconds from when the request leaves (relative:
  /// no clock agreement needed); 0 = no deadline. 0 for the other kinds.
  std::uint32_t deadline_ms = 0;
  /// Responses: the status (its meaning is the application layer's; 0 = ok). 0 otherwise.
  std::uint16_t status = 0;
  /// Responses: a human-readable reason beside the status (UTF-8, may be empty).
  std::string message;

  friend bool operator==(const call_info& a, const call_info& b) {
    return a.what == b.what && a.request_id == b.request_id && a.deadline_ms == b.deadline_ms &&
           a.status == b.status && a.message == b.message;
  }
};

/// What an OPEN frame says about a message, besides its id and size.
struct message_meta {
  /// Where the message goes (e.g. "files/upload"); the application layer routes on it.
  std::string route;
  /// How the body is encoded.
  content_type type = content_type::raw;
  /// Scheduling priority on the sender's link: higher levels are served first.
  std::uint8_t priority = 0;
  /// Application headers, in order.
  std::vector<header_field> headers;
  /// Set when the message is part of a call (the OPEN then carries flags::call).
  std::optional<call_info> call;

  /// The value of the first header named `name`, or nullptr.
  const std::string* header(std::string_view name) const noexcept;

  friend bool operator==(const message_meta& a, const message_meta& b) {
    return a.route == b.route && a.type == b.type && a.priority == b.priority &&
           a.headers == b.headers && a.call == b.call;
  }
};

/// Bytes encode_meta() appends for `meta`.
std::size_t encoded_meta_size(const message_meta& meta) noexcept;

/// Appends the OPEN metadata block for `meta` to `out` (docs/PROTOCOL.md, "OPEN").
void encode_meta(const message_meta& meta, byte_buffer& out);

/// Parses the metadata block at the front of an OPEN payload into `out`, checking `lim`
/// (route length, header count, metadata bytes); `frame_flags` are the OPEN's (flags::call says a
/// call block comes first). On success `consumed` is the block's size. Errors:
/// errc::malformed_frame (truncated or inconsistent, an unknown call kind, a request naming
/// another request or a response naming none), errc::metadata_too_large.
errc decode_meta(byte_view payload, const limits& lim, message_meta& out, std::size_t& consumed,
                 std::uint8_t frame_flags = 0);

/// Connection settings a side announces in its HELLO frame (docs/PROTOCOL.md, "HELLO").
struct settings {
  /// Largest frame payload the sender of HELLO accepts.
  std::uint32_t max_frame_payload = 1u << 20;
  /// Credit every new incoming message starts with, in body bytes.
  std::uint64_t initial_message_credit = std::uint64_t{1} << 20;
  /// Credit the connection starts with, in body bytes across all messages.
  std::uint64_t initial_connection_credit = std::uint64_t{16} << 20;
  /// Most concurrent incoming messages the sender of HELLO accepts.
  std::uint32_t max_concurrent_messages = 1024;
  /// Largest message body the sender of HELLO accepts.
  std::uint64_t max_message_size = std::uint64_t{16} << 30;
  /// Transforms the sender of HELLO undoes (bit k = transform_id k). A peer that does not say
  /// (one that predates transforms) undoes none: 0.
  std::uint64_t accepted_transforms = 0;
  /// Largest decoded size of a transformed body the sender of HELLO accepts (limits).
  std::uint64_t max_decoded_size = std::uint64_t{4} << 20;

  friend bool operator==(const settings& a, const settings& b) {
    return a.max_frame_payload == b.max_frame_payload &&
           a.initial_message_credit == b.initial_message_credit &&
           a.initial_connection_credit == b.initial_connection_credit &&
           a.max_concurrent_messages == b.max_concurrent_messages &&
           a.max_message_size == b.max_message_size &&
           a.accepted_transforms == b.accepted_transforms &&
           a.max_decoded_size == b.max_decoded_size;
  }
};

/// Appends the HELLO payload for `s` to `out`.
void encode_settings(const settings& s, byte_buffer& out);

/// Smallest max_frame_payload a HELLO may announce: every receiver takes frames this large.
inline constexpr std::uint32_t min_frame_payload = 1024;

/// Parses a HELLO payload; unknown setting ids are ignored, known ones overwrite `out`.
/// Errors: errc::malformed_frame (a truncated list, a max_frame_payload outside
/// [min_frame_payload, max_wire_payload], or a zero initial credit).
errc decode_settings(byte_view payload, settings& out);

}  // namespace netcore::protocol
