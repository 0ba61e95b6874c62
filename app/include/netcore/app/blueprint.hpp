#pragma once

// A blueprint: a group of an endpoint's routes under a prefix, with its own middleware, hooks,
// error handlers and default handler (applied to its own routes only), nestable.

#include <netcore/app/handlers.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace netcore::app {

namespace detail {
struct endpoint_core;
}  // namespace detail

/// A handle to one scope of an endpoint's routes: the endpoint's own (endpoint::root()) or a
/// blueprint (endpoint::group(), blueprint::group()). Copyable; all copies name the same scope.
/// Thread-safe; changes take effect for requests that arrive afterwards. Errors are
/// netcore.route codes (route_errors.hpp); a handle whose blueprint was removed answers
/// unknown_blueprint.
class blueprint {
 public:
  blueprint() = default;

  /// True for a handle that names a scope.
  bool valid() const noexcept { return core_ != nullptr; }
  /// The full prefix ("" for the endpoint's own scope).
  const std::string& prefix() const noexcept { return prefix_; }

  /// Registers `h` for `<prefix>/<name>`. Errors: invalid_name, duplicate (unless `replace`),
  /// too_many_routes, unknown_blueprint.
  std::error_code handle(std::string_view name, sync_handler h, route_options options = {},
                         bool replace = false);
  /// The same for a handler that answers through its responder.
  std::error_code handle_async(std::string_view name, handler h, route_options options = {},
                               bool replace = false);
  /// Removes the route `<prefix>/<name>` of this scope. Errors: not_found, invalid_name.
  std::error_code remove(std::string_view name);

  /// A blueprint nested in this one under `prefix` (one or more segments). On error (invalid
  /// name, duplicate prefix, too deep, too many blueprints) the handle is invalid and `error`,
  /// when given, says why.
  blueprint group(std::string_view prefix, std::error_code* error = nullptr);
  /// Removes this blueprint with its routes and the blueprints nested in it. Errors:
  /// invalid_id (the endpoint's own scope), unknown_blueprint.
  std::error_code remove_group();

  /// Appends onion middleware to this scope.
  std::error_code use(middleware m);
  /// Appends a before hook to this scope.
  std::error_code before(before_hook h);
  /// Appends an after hook to this scope.
  std::error_code after(after_hook h);
  /// Appends an error handler to this scope.
  std::error_code on_error(error_handler h);
  /// The handler for names under this prefix that no route matches (empty: none).
  std::error_code set_default(handler h);

 private:
  friend class endpoint;
  blueprint(std::shared_ptr<detail::endpoint_core> core, std::uint32_t id, std::string prefix)
      : core_(std::move(core)), id_(id), prefix_(std::move(prefix)) {}
  std::shared_ptr<detail::endpoint_core> core_;
  std::uint32_t id_ = 0;
  std::string prefix_;
};

}  // namespace netcore::app
