#pragma once

// Transport failures. An OS failure keeps the OS error itself: a std::error_code in
// std::system_category() (ECONNREFUSED, ENETUNREACH, EACCES, ENOENT, ETIMEDOUT, EMFILE, ...),
// so `ec == std::errc::connection_refused` works and ec.message() names the cause. What has no
// errno has a transport_errc (category "netcore.transport").

#include <string_view>
#include <system_error>

namespace netcore {

/// Transport conditions without an OS error code of their own.
enum class transport_errc : int {
  ok = 0,
  end_of_stream = 1,         ///< The peer closed the stream (orderly end, EOF).
  closed = 2,                ///< The stream was closed locally.
  resolution_failed = 3,     ///< The host name could not be resolved.
  invalid_address = 4,       ///< An address or path that cannot be used (e.g. too long).
  not_pollable = 5,          ///< A non-blocking operation on a stream whose reads block.
  invalid_argument = 6,      ///< An unusable argument (documented per call).
  tls_bad_config = 7,        ///< A TLS configuration that cannot be used (PEM, key, missing name).
  tls_handshake_failed = 8,  ///< The TLS handshake failed (an alert, no common version or cipher,
                             ///< no client certificate where one is required).
  tls_verify_failed = 9,     ///< The peer's certificate did not verify (untrusted issuer, expired,
                             ///< another host name).
  tls_protocol_error = 10,   ///< A TLS record or alert after the handshake that is not valid.
  tls_handshake_timeout = 11,  ///< The TLS handshake did not complete in time.
  // 20-29: the pre-session handshake (docs/PROTOCOL.md, "Pre-session handshake").
  auth_failed = 20,          ///< The peer does not hold the key (or refused ours).
  auth_timeout = 21,         ///< The handshake did not complete within its timeout.
  auth_protocol_error = 22,  ///< The peer sent something that is not the handshake.
};

/// A short, stable name for `e` ("end_of_stream", ...); "unknown" for other values.
std::string_view to_string(transport_errc e) noexcept;

/// The category of transport_errc (name "netcore.transport").
const std::error_category& transport_category() noexcept;

/// Wraps `e` in a std::error_code of transport_category().
inline std::error_code make_error_code(transport_errc e) noexcept {
  return {static_cast<int>(e), transport_category()};
}

/// The OS error `errno_value` as a std::error_code (std::system_category()).
inline std::error_code os_error(int errno_value) noexcept {
  return {errno_value, std::system_category()};
}

/// True when `ec` means the stream is gone (ended by the peer, closed, reset, broken), as opposed
/// to a failure to set one up.
bool is_disconnect(std::error_code ec) noexcept;

}  // namespace netcore

namespace std {
template <>
struct is_error_code_enum<netcore::transport_errc> : true_type {};
}  // namespace std
