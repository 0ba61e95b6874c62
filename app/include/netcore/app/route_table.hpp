#pragma once

// The route table of an endpoint: which handler answers a request name, and which middleware,
// hooks and error handlers apply to it, in which order. Pure: no I/O, no callables. The
// endpoint keeps the actual handlers and hands the table opaque non-zero ids (std::uint64_t)
// for handlers, middleware, before/after hooks, error handlers and default handlers.
//
// Names. A route name and a blueprint prefix are non-empty, well-formed UTF-8, made of segments
// separated by '/': no leading or trailing '/', no empty segment ("a//b"). A full name (the
// prefixes of the enclosing blueprints, outer to inner, then the route's name, joined by '/')
// is at most route_limits::max_route_length bytes. Anything else is route_errc::invalid_name.
//
// Blueprints. A blueprint is a group of routes under a prefix of one or more segments, inside
// the endpoint (the root scope, id 0) or inside another blueprint, at most max_depth deep. Each
// scope (the root and every blueprint) has its own middleware, before hooks, after hooks, error
// handlers and default handler, and they apply ONLY to the routes registered in that scope and
// in the blueprints nested in it. A route belongs to the scope it was registered in: a route
// "files/get" registered at the root is the root's, even if a blueprint "files" exists. Full
// prefixes are unique in the table (a second blueprint with the same full prefix, in the same
// parent or elsewhere, is a duplicate).
//
// Matching. Routes match exactly: "files/get" is matched by "files/get" and nothing else. A
// request that names no route falls to the default handler of the innermost blueprint that has
// one and whose full prefix is a whole-segment prefix of the name ("files" covers "files" and
// "files/x/y", not "filesystem"); else to the root's default handler; else nothing answers
// (not found). A blueprint without a default handler is transparent: the search goes on at the
// next shorter prefix. A default handler runs inside its own blueprint's scope.
//
// Cost. Exact matches are one hash lookup on the full name; defaults walk the name's segments
// from the longest prefix down, one hash lookup each (O(segments)). resolve() allocates nothing
// but the vectors it returns, each at most once; it validates the name first (O(length)).
// Registration and removal work at any time.
//
// Thread safety: none. One owner mutates it; the endpoint serialises access, or resolves on a
// copy (copies are deep and independent).

#include <netcore/app/route_errors.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace netcore::app {

/// A scope of the route table: 0 is the endpoint itself (root), others are blueprints. Ids are
/// handed out in increasing order and never reused by the same table.
using blueprint_id = std::uint32_t;

/// Bounds of one route table; exceeding one is a typed error (route_errc).
struct route_limits {
  std::size_t max_route_length = 1024;  ///< Bytes of a full route name or blueprint prefix.
  std::size_t max_routes = 65536;       ///< Routes in the table, all scopes together.
  std::size_t max_depth = 16;           ///< Nesting: a blueprint at the root has depth 1.
  std::size_t max_blueprints = 4096;    ///< Blueprints in the table, all depths together.
};

/// Everything that applies to one request name, in the order the endpoint runs it.
struct resolution {
  bool found = false;         ///< A route matched the name exactly.
  bool is_default = false;    ///< `handler` is a default handler (no route matched).
  bool bad_name = false;      ///< The name is not a valid route name: nothing matched, the lists
                              ///< are the root's (the endpoint answers bad_request or not_found).
  std::uint64_t handler = 0;  ///< The route's handler, or the default handler; 0: not found.
  /// Onion order: the root's first, then outer blueprint to inner, then the route's own.
  std::vector<std::uint64_t> middleware;
  /// Outer to inner (the root's first); the first hook that answers ends the request.
  std::vector<std::uint64_t> before_hooks;
  /// Inner to outer: the innermost scope's first, the root's last.
  std::vector<std::uint64_t> after_hooks;
  /// Innermost scope first, then outward, the root's last.
  std::vector<std::uint64_t> error_handlers;
  /// The blueprints the handler runs in, outer to inner; empty for the root. When nothing
  /// answers, the chain of the innermost blueprint whose prefix covers the name (the lists
  /// above are then that chain's, so the endpoint can run them around its not-found answer).
  std::vector<blueprint_id> scope;
};

/// OK when `name` is a valid route name or prefix of at most `max_length` bytes (rules above),
/// else route_errc::invalid_name.
std::error_code validate_route_name(std::string_view name, std::size_t max_length) noexcept;

/// Routes, blueprints and their scopes; see the top of this file for the rules.
class route_table {
 public:
  /// The endpoint's own scope.
  static constexpr blueprint_id root = 0;

  /// What add_blueprint returns: the new blueprint's id, or an error (and id 0).
  struct added_blueprint {
    blueprint_id id = 0;    ///< The new blueprint; 0 on error.
    std::error_code error;  ///< Why it was refused; none on success.
    /// True on success.
    explicit operator bool() const noexcept { return !error; }
  };

  /// An empty table (only the root scope) bounded by `limits`.
  explicit route_table(route_limits limits = {});
  /// A deep, independent copy.
  route_table(const route_table& other);
  /// Replaces this table with a deep, independent copy of `other`.
  route_table& operator=(const route_table& other);
  /// Moves without copying; the moved-from table may only be destroyed or assigned to.
  route_table(route_table&&) noexcept = default;
  /// Moves without copying; the moved-from table may only be destroyed or assigned to.
  route_table& operator=(route_table&&) noexcept = default;
  /// Destroys the table.
  ~route_table() = default;

  /// The bounds given at construction.
  const route_limits& limits() const noexcept { return limits_; }

  /// A blueprint with `prefix` (one or more segments) inside `parent`. Errors: unknown_blueprint
  /// (parent), invalid_name (syntax, or full prefix too long), too_deep, duplicate (the full
  /// prefix exists), too_many_blueprints.
  added_blueprint add_blueprint(blueprint_id parent, std::string_view prefix);
  /// Removes a blueprint with its routes, its scope entries and every blueprint nested in it.
  /// Routes registered elsewhere (e.g. a root route "files/get") stay. Errors: invalid_id
  /// (root), unknown_blueprint.
  std::error_code remove_blueprint(blueprint_id bp);
  /// True when `bp` is the root or a blueprint of this table.
  bool has_blueprint(blueprint_id bp) const noexcept { return scopes_.count(bp) != 0; }

  /// Registers route `name` (relative to `in`) answered by `handler`, with optional per-route
  /// middleware that runs innermost. An existing full name is a duplicate unless `replace`; a
  /// replaced route takes the new handler, middleware and scope. Errors: unknown_blueprint,
  /// invalid_id (0 as handler or middleware), invalid_name, duplicate, too_many_routes.
  std::error_code add_route(blueprint_id in, std::string_view name, std::uint64_t handler,
                            bool replace = false, std::vector<std::uint64_t> route_middleware = {});
  /// Removes route `name` (relative to `in`). Errors: unknown_blueprint, invalid_name,
  /// not_found (no such route, or it belongs to another scope).
  std::error_code remove_route(blueprint_id in, std::string_view name);

  /// Appends middleware `id` to scope `bp`. Errors (for every add_* below): unknown_blueprint,
  /// invalid_id (0), duplicate (already in that list of that scope).
  std::error_code add_middleware(blueprint_id bp, std::uint64_t id) {
    return add_entry(bp, &scope::middleware, id);
  }
  /// Appends before hook `id` to scope `bp`.
  std::error_code add_before_hook(blueprint_id bp, std::uint64_t id) {
    return add_entry(bp, &scope::before_hooks, id);
  }
  /// Appends after hook `id` to scope `bp` (within a scope, after hooks run in this order).
  std::error_code add_after_hook(blueprint_id bp, std::uint64_t id) {
    return add_entry(bp, &scope::after_hooks, id);
  }
  /// Appends error handler `id` to scope `bp`.
  std::error_code add_error_handler(blueprint_id bp, std::uint64_t id) {
    return add_entry(bp, &scope::error_handlers, id);
  }
  /// Removes middleware `id` from scope `bp`. Errors (for every remove_* below):
  /// unknown_blueprint, not_found.
  std::error_code remove_middleware(blueprint_id bp, std::uint64_t id) {
    return remove_entry(bp, &scope::middleware, id);
  }
  /// Removes before hook `id` from scope `bp`.
  std::error_code remove_before_hook(blueprint_id bp, std::uint64_t id) {
    return remove_entry(bp, &scope::before_hooks, id);
  }
  /// Removes after hook `id` from scope `bp`.
  std::error_code remove_after_hook(blueprint_id bp, std::uint64_t id) {
    return remove_entry(bp, &scope::after_hooks, id);
  }
  /// Removes error handler `id` from scope `bp`.
  std::error_code remove_error_handler(blueprint_id bp, std::uint64_t id) {
    return remove_entry(bp, &scope::error_handlers, id);
  }
  /// Sets the default handler of scope `bp`; 0 removes it. Errors: unknown_blueprint.
  std::error_code set_default_handler(blueprint_id bp, std::uint64_t id);

  /// Everything that applies to a request for `full_route` (see resolution).
  resolution resolve(std::string_view full_route) const;

  /// The full name of `name` registered in `bp` ("<outer prefix>/<inner prefix>/<name>");
  /// `name` empty gives the full prefix of `bp`; empty for an unknown blueprint.
  std::string full_name(blueprint_id bp, std::string_view name) const;
  /// Routes in the table.
  std::size_t routes() const noexcept { return routes_.size(); }
  /// Blueprints in the table (the root not counted).
  std::size_t blueprints() const noexcept { return scopes_.size() - 1; }

 private:
  struct scope {
    blueprint_id parent = root;
    std::size_t depth = 0;
    std::string full_prefix;  // empty for the root
    std::vector<blueprint_id> children;
    std::unordered_set<std::string_view> routes;  // views of route_entry::full_name
    std::vector<std::uint64_t> middleware, before_hooks, after_hooks, error_handlers;
    std::uint64_t default_handler = 0;
  };
  struct route_entry {
    std::string full_name;
    blueprint_id owner = root;
    std::uint64_t handler = 0;
    std::vector<std::uint64_t> middleware;
  };
  using scope_list = std::vector<std::uint64_t> scope::*;

  std::error_code add_entry(blueprint_id bp, scope_list list, std::uint64_t id);
  std::error_code remove_entry(blueprint_id bp, scope_list list, std::uint64_t id);
  void fill(resolution& r, blueprint_id in, const route_entry* route) const;

  route_limits limits_;
  blueprint_id next_id_ = 1;
  std::unordered_map<blueprint_id, scope> scopes_;  // the root included
  // Keys are views of scope::full_prefix / route_entry::full_name, which never move.
  std::unordered_map<std::string_view, blueprint_id> prefixes_;
  std::unordered_map<std::string_view, std::unique_ptr<route_entry>> routes_;
};

}  // namespace netcore::app
