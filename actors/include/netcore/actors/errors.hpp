#pragma once

// Errors where they cross actors. Inside netcore and at its C++ API an error is a
// std::error_code (wire codes, runtime conditions, transport and OS errors); between actors it
// travels as a caf::error, so request handlers and response promises can carry it. The two
// convert both ways without losing the category or the code.

#include <netcore/protocol/error.hpp>
#include <netcore/session/errors.hpp>
#include <netcore/transports/errors.hpp>

#include <caf/error.hpp>

#include <system_error>

namespace netcore {

/// The CAF error categories of netcore's error codes.
namespace caf_category {
inline constexpr caf::atom_value wire = caf::atom("nc_wire");
inline constexpr caf::atom_value runtime = caf::atom("nc_rt");
inline constexpr caf::atom_value transport = caf::atom("nc_trans");
inline constexpr caf::atom_value system = caf::atom("nc_system");
}  // namespace caf_category

/// `ec` as a caf::error (an empty error for success). A code that does not fit CAF's 8-bit code,
/// or of a category netcore does not know, becomes runtime_errc::invalid_argument: never
/// success.
caf::error to_caf_error(std::error_code ec);

/// `e` back as a std::error_code: netcore's own categories exactly; CAF's own errors (a request
/// that timed out, an actor that went away) as runtime_errc::timed_out / runtime_errc::closed.
std::error_code to_error_code(const caf::error& e);

}  // namespace netcore

namespace netcore::protocol {
/// Lets a wire code be used wherever CAF expects an error (responses, promises).
caf::error make_error(errc e);
}  // namespace netcore::protocol

namespace netcore {
caf::error make_error(runtime_errc e);
caf::error make_error(transport_errc e);
}  // namespace netcore
