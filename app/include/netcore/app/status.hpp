#pragma once

// The statuses a response carries on the wire (docs/PROTOCOL.md, "Calls"): a small fixed set
// every peer understands, plus a range the application defines for itself.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace netcore::app {

/// A response's status. The values travel on the wire (u16) and never change meaning.
enum class status : std::uint16_t {
  ok = 0,                    ///< The handler answered.
  not_found = 1,             ///< No route (and no default handler) for the request.
  bad_request = 2,           ///< The request was malformed (e.g. its body did not decode).
  deadline_exceeded = 3,     ///< The request's deadline passed before an answer.
  cancelled = 4,             ///< The caller cancelled the request.
  unavailable = 5,           ///< The server cannot take it now (concurrency limit, shutting down,
                             ///< disconnected): a retry may succeed.
  too_large = 6,             ///< The request or its answer exceeds a size limit.
  internal = 7,              ///< The handler failed (threw, or dropped its promise).
  unauthenticated = 8,       ///< The peer is not known.
  permission_denied = 9,     ///< The peer is known but may not do this.
  application_first = 1000,  ///< The first status an application may define for itself.
};

/// True for the statuses the application defines (application_first and above).
constexpr bool is_application(status s) noexcept {
  return static_cast<std::uint16_t>(s) >= static_cast<std::uint16_t>(status::application_first);
}

/// "ok", "not_found", ...; "application_<n>" for an application status; "unknown_<n>" for a
/// value below the application range that this version does not know.
std::string to_string(status s);

/// The statuses as a std::error_code category ("netcore.status"); status::ok is no error.
const std::error_category& status_category() noexcept;
inline std::error_code make_error_code(status s) noexcept {
  return {static_cast<int>(s), status_category()};
}

}  // namespace netcore::app

namespace std {
template <>
struct is_error_code_enum<netcore::app::status> : true_type {};
}  // namespace std
