#pragma once

#include <netcore/protocol/error.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/reassembler.hpp>

#include <cstdint>
#include <string>
#include <system_error>
#include <variant>

namespace netcore::session {

/// A complete, verified incoming message. Acknowledge `cost` with core::acknowledge() once the
/// application has taken it: until then it counts against the delivery budget.
struct received {
  protocol::incoming_message message;
  std::uint64_t cost = 0;
};

/// An incoming message that failed (limit, storage, digest, cancel by either side, disconnect):
/// the peer's id for it and why.
struct receive_failed {
  std::uint64_t id = 0;
  std::error_code reason;
};

/// What became of an outgoing message: written in full (reason empty) or failed. A message
/// written in full can get a second `sent`, with the reason, when the peer refuses it after its
/// last bytes went out (e.g. wire_errc::storage_full, payload_corrupt): its CANCEL crossed them.
/// That second one carries cookie 0 (the cookie came back, to be released, with the first).
struct sent {
  std::uint64_t id = 0;
  std::error_code reason;
  /// The cookie the message was queued with (send() / open_stream()).
  std::uint64_t cookie = 0;
  bool ok() const noexcept { return !reason; }
};

/// Body bytes of an outgoing multi-frame message written to the stream: `delta` more, `written`
/// so far, of `total` (protocol::unknown_size while unknown).
struct progress {
  std::uint64_t id = 0;
  std::uint64_t delta = 0;
  std::uint64_t written = 0;
  std::uint64_t total = 0;
  /// The cookie the message was queued with.
  std::uint64_t cookie = 0;
};

/// The peer's HELLO arrived: its settings now govern what this side sends.
struct peer_ready {
  protocol::settings settings;
};

/// The peer sent GOAWAY: it opens no new messages (and this side opens none either).
struct peer_goaway {
  protocol::errc code = protocol::errc::ok;
  std::string text;
};

/// The session ended. `reason` is empty for a clean close (both sides drained), otherwise the
/// wire code, runtime condition or transport error that ended it.
struct closed {
  std::error_code reason;
};

/// Everything a session reports, in the order it happened.
using event =
    std::variant<received, receive_failed, sent, progress, peer_ready, peer_goaway, closed>;

}  // namespace netcore::session
