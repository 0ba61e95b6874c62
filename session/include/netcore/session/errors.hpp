#pragma once

// Local conditions of the runtime, apart from the wire codes (protocol::errc) that travel in
// CANCEL, ERROR and GOAWAY frames. At the API of the session and everything above it, errors are
// std::error_codes: a wire code (category "netcore.wire"), a local condition below (category
// "netcore.runtime"), a transport failure (category "netcore.transport", or the OS error itself
// in std::system_category), so one value says both what happened and in which layer.

#include <netcore/protocol/error.hpp>

#include <string_view>
#include <system_error>

namespace netcore {

/// The wire codes, under the name the layers above the protocol use for them.
using wire_errc = protocol::errc;

/// What went wrong locally, as opposed to what a peer reported. Values are stable (they appear
/// in logs and metrics) but never travel on the wire.
enum class runtime_errc : int {
  ok = 0,
  disconnected = 1,        ///< The connection ended (the peer closed it or the transport failed).
  shutting_down = 2,       ///< Closed or aborted locally before the operation could complete.
  timed_out = 3,           ///< A local wait ran out of time.
  backpressure = 4,        ///< The outgoing queue is full: try again later, or wait.
  handshake_timeout = 5,   ///< The peer's HELLO did not arrive in time.
  drain_timeout = 6,       ///< A graceful close ran past its deadline with work still in flight.
  peer_going_away = 7,     ///< The peer sent GOAWAY: it accepts no new messages.
  closed = 8,              ///< The operation needs an open connection and this one has ended.
  invalid_argument = 9,    ///< The caller passed something unusable (documented per call).
  duplicate_id = 10,       ///< An outgoing message id that is already in use.
  unknown_id = 11,         ///< No outgoing stream message with that id is open.
  retries_exhausted = 12,  ///< The reliable link got no acknowledgement after its retransmissions.
  too_slow = 13,           ///< The peer sent below session_config::min_data_rate.
};

/// A short, stable name for `e` (e.g. "backpressure"); "unknown" for other values.
std::string_view to_string(runtime_errc e) noexcept;

/// The category of runtime_errc (name "netcore.runtime").
const std::error_category& runtime_category() noexcept;

/// Wraps `e` in a std::error_code of runtime_category().
inline std::error_code make_error_code(runtime_errc e) noexcept {
  return {static_cast<int>(e), runtime_category()};
}

}  // namespace netcore

namespace std {
template <>
struct is_error_code_enum<netcore::runtime_errc> : true_type {};
}  // namespace std
