#pragma once

// What the route table refuses (route_table.hpp), as std::error_codes of category
// "netcore.route". They are local conditions of the application layer and never travel on the
// wire; a request that names no route is answered with status::not_found instead.

#include <string_view>
#include <system_error>

namespace netcore::app {

/// Why a route table operation failed. Values are stable (they appear in logs).
enum class route_errc : int {
  ok = 0,
  invalid_name = 1,         ///< A route name or blueprint prefix breaks the syntax rules, or the
                            ///< full name is longer than route_limits::max_route_length.
  invalid_id = 2,           ///< An id of 0 where a handler, middleware or hook is required, or
                            ///< an operation that the root scope does not allow.
  duplicate = 3,            ///< The route, blueprint prefix or scope entry exists already.
  not_found = 4,            ///< No such route in that scope, or no such entry in that scope.
  unknown_blueprint = 5,    ///< No blueprint has that id (never added, or removed).
  too_many_routes = 6,      ///< route_limits::max_routes would be exceeded.
  too_many_blueprints = 7,  ///< route_limits::max_blueprints would be exceeded.
  too_deep = 8,             ///< route_limits::max_depth of nesting would be exceeded.
};

/// A short, stable name for `e` (e.g. "duplicate"); "unknown" for other values.
std::string_view to_string(route_errc e) noexcept;

/// The category of route_errc (name "netcore.route").
const std::error_category& route_category() noexcept;

/// Wraps `e` in a std::error_code of route_category().
inline std::error_code make_error_code(route_errc e) noexcept {
  return {static_cast<int>(e), route_category()};
}

}  // namespace netcore::app

namespace std {
template <>
struct is_error_code_enum<netcore::app::route_errc> : true_type {};
}  // namespace std
