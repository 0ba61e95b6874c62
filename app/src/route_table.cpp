#include <netcore/app/route_table.hpp>

#include <algorithm>
#include <utility>

namespace netcore::app {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (in(c, 0xC2, 0xDF)) {
    n = 2;
  } else if (in(c, 0xE0, 0xEF)) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (in(c, 0xF0, 0xF4)) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < n || !in(b(i + 1), lo, hi)) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (!in(b(i + k), 0x80, 0xBF)) return 0;
  return n;
}

std::string join(std::string_view prefix, std::string_view name) {
  std::string out;
  out.reserve(prefix.size() + 1 + name.size());
  out.append(prefix);
  if (!prefix.empty() && !name.empty()) out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace

std::error_code validate_route_name(std::string_view name, std::size_t max_length) noexcept {
  if (name.empty() || name.size() > max_length) return route_errc::invalid_name;
  if (name.front() == '/' || name.back() == '/') return route_errc::invalid_name;
  for (std::size_t i = 0; i < name.size();) {
    if (name[i] == '/' && name[i + 1] == '/') return route_errc::invalid_name;  // not last
    const std::size_t n = utf8_sequence(name, i);
    if (n == 0) return route_errc::invalid_name;
    i += n;
  }
  return {};
}

route_table::route_table(route_limits limits) : limits_(limits) {
  scopes_.emplace(root, scope{});
}

route_table::route_table(const route_table& other)
    : limits_(other.limits_), next_id_(other.next_id_), scopes_(other.scopes_) {
  // The copied keys and route sets still view the other table's strings: rebuild them.
  for (auto& [id, s] : scopes_) {
    s.routes.clear();
    if (id != root) prefixes_.emplace(s.full_prefix, id);
  }
  routes_.reserve(other.routes_.size());
  for (const auto& [name, entry] : other.routes_) {
    auto copy = std::make_unique<route_entry>(*entry);
    const std::string_view key = copy->full_name;
    scopes_.at(copy->owner).routes.insert(key);
    routes_.emplace(key, std::move(copy));
  }
}

route_table& route_table::operator=(const route_table& other) {
  if (this != &other) *this = route_table(other);
  return *this;
}

route_table::added_blueprint route_table::add_blueprint(blueprint_id parent,
                                                        std::string_view prefix) {
  const auto p = scopes_.find(parent);
  if (p == scopes_.end()) return {0, route_errc::unknown_blueprint};
  if (auto e = validate_route_name(prefix, limits_.max_route_length)) return {0, e};
  std::string full = join(p->second.full_prefix, prefix);
  if (full.size() > limits_.max_route_length) return {0, route_errc::invalid_name};
  if (p->second.depth + 1 > limits_.max_depth) return {0, route_errc::too_deep};
  if (prefixes_.count(full) != 0) return {0, route_errc::duplicate};
  if (blueprints() >= limits_.max_blueprints || next_id_ == root)
    return {0, route_errc::too_many_blueprints};

  const blueprint_id id = next_id_++;
  scope& outer = p->second;  // a reference survives the rehash an emplace may cause
  scope s;
  s.parent = parent;
  s.depth = outer.depth + 1;
  s.full_prefix = std::move(full);
  scope& added = scopes_.emplace(id, std::move(s)).first->second;
  prefixes_.emplace(added.full_prefix, id);
  outer.children.push_back(id);
  return {id, {}};
}

std::error_code route_table::remove_blueprint(blueprint_id bp) {
  if (bp == root) return route_errc::invalid_id;
  const auto it = scopes_.find(bp);
  if (it == scopes_.end()) return route_errc::unknown_blueprint;
  auto& siblings = scopes_.at(it->second.parent).children;
  siblings.erase(std::find(siblings.begin(), siblings.end(), bp));

  std::vector<blueprint_id> pending{bp};
  while (!pending.empty()) {
    const blueprint_id id = pending.back();
    pending.pop_back();
    const auto s = scopes_.find(id);
    pending.insert(pending.end(), s->second.children.begin(), s->second.children.end());
    for (const std::string_view name : s->second.routes) routes_.erase(routes_.find(name));
    prefixes_.erase(prefixes_.find(s->second.full_prefix));
    scopes_.erase(s);
  }
  return {};
}

std::error_code route_table::add_route(blueprint_id in, std::string_view name,
                                       std::uint64_t handler, bool replace,
                                       std::vector<std::uint64_t> route_middleware) {
  const auto s = scopes_.find(in);
  if (s == scopes_.end()) return route_errc::unknown_blueprint;
  if (handler == 0 || std::count(route_middleware.begin(), route_middleware.end(), 0) != 0)
    return route_errc::invalid_id;
  if (auto e = validate_route_name(name, limits_.max_route_length)) return e;
  std::string full = join(s->second.full_prefix, name);
  if (full.size() > limits_.max_route_length) return route_errc::invalid_name;

  if (const auto existing = routes_.find(full); existing != routes_.end()) {
    if (!replace) return route_errc::duplicate;
    route_entry& entry = *existing->second;
    if (entry.owner != in) {
      scopes_.at(entry.owner).routes.erase(existing->first);
      s->second.routes.insert(existing->first);
      entry.owner = in;
    }
    entry.handler = handler;
    entry.middleware = std::move(route_middleware);
    return {};
  }
  if (routes_.size() >= limits_.max_routes) return route_errc::too_many_routes;

  auto entry = std::make_unique<route_entry>(
      route_entry{std::move(full), in, handler, std::move(route_middleware)});
  const std::string_view key = entry->full_name;
  routes_.emplace(key, std::move(entry));
  s->second.routes.insert(key);
  return {};
}

std::error_code route_table::remove_route(blueprint_id in, std::string_view name) {
  const auto s = scopes_.find(in);
  if (s == scopes_.end()) return route_errc::unknown_blueprint;
  if (auto e = validate_route_name(name, limits_.max_route_length)) return e;
  const auto it = routes_.find(join(s->second.full_prefix, name));
  if (it == routes_.end() || it->second->owner != in) return route_errc::not_found;
  s->second.routes.erase(it->first);
  routes_.erase(it);
  return {};
}

std::error_code route_table::add_entry(blueprint_id bp, scope_list list, std::uint64_t id) {
  const auto s = scopes_.find(bp);
  if (s == scopes_.end()) return route_errc::unknown_blueprint;
  if (id == 0) return route_errc::invalid_id;
  auto& ids = s->second.*list;
  if (std::find(ids.begin(), ids.end(), id) != ids.end()) return route_errc::duplicate;
  ids.push_back(id);
  return {};
}

std::error_code route_table::remove_entry(blueprint_id bp, scope_list list, std::uint64_t id) {
  const auto s = scopes_.find(bp);
  if (s == scopes_.end()) return route_errc::unknown_blueprint;
  auto& ids = s->second.*list;
  const auto it = std::find(ids.begin(), ids.end(), id);
  if (it == ids.end()) return route_errc::not_found;
  ids.erase(it);
  return {};
}

std::error_code route_table::set_default_handler(blueprint_id bp, std::uint64_t id) {
  const auto s = scopes_.find(bp);
  if (s == scopes_.end()) return route_errc::unknown_blueprint;
  s->second.default_handler = id;
  return {};
}

resolution route_table::resolve(std::string_view full_route) const {
  resolution r;
  if (validate_route_name(full_route, limits_.max_route_length)) {
    r.bad_name = true;
    fill(r, root, nullptr);
    return r;
  }
  if (const auto it = routes_.find(full_route); it != routes_.end()) {
    r.found = true;
    r.handler = it->second->handler;
    fill(r, it->second->owner, it->second.get());
    return r;
  }
  // Longest whole-segment prefix first: the name itself, then up to each '/' from the right.
  blueprint_id covering = root;
  bool covered = false;
  for (std::string_view prefix = full_route;;) {
    if (const auto it = prefixes_.find(prefix); it != prefixes_.end()) {
      const scope& s = scopes_.at(it->second);
      if (!covered) covering = it->second;
      covered = true;
      if (s.default_handler != 0) {
        r.handler = s.default_handler;
        r.is_default = true;
        fill(r, it->second, nullptr);
        return r;
      }
    }
    const auto slash = prefix.rfind('/');
    if (slash == std::string_view::npos) break;
    prefix = prefix.substr(0, slash);
  }
  const std::uint64_t fallback = scopes_.at(root).default_handler;
  r.handler = fallback;
  r.is_default = fallback != 0;
  fill(r, fallback != 0 ? root : covering, nullptr);
  return r;
}

void route_table::fill(resolution& r, blueprint_id in, const route_entry* route) const {
  // First pass: sizes, so that each vector is allocated once. Second pass, inner to outer:
  // the outer-to-inner lists are filled from their end, the inner-to-outer ones appended.
  const std::size_t own = route != nullptr ? route->middleware.size() : 0;
  std::size_t middleware = own, before = 0, after = 0, errors = 0;
  const scope* inner = &scopes_.at(in);
  for (const scope* s = inner;; s = &scopes_.at(s->parent)) {
    middleware += s->middleware.size();
    before += s->before_hooks.size();
    after += s->after_hooks.size();
    errors += s->error_handlers.size();
    if (s->depth == 0) break;
  }
  r.middleware.resize(middleware);
  r.before_hooks.resize(before);
  r.after_hooks.reserve(after);
  r.error_handlers.reserve(errors);
  r.scope.resize(inner->depth);
  if (route != nullptr)
    std::copy(route->middleware.begin(), route->middleware.end(),
              r.middleware.end() - static_cast<std::ptrdiff_t>(own));
  middleware -= own;
  blueprint_id id = in;
  for (const scope* s = inner;; id = s->parent, s = &scopes_.at(id)) {
    middleware -= s->middleware.size();
    std::copy(s->middleware.begin(), s->middleware.end(), r.middleware.begin() + middleware);
    before -= s->before_hooks.size();
    std::copy(s->before_hooks.begin(), s->before_hooks.end(), r.before_hooks.begin() + before);
    r.after_hooks.insert(r.after_hooks.end(), s->after_hooks.begin(), s->after_hooks.end());
    r.error_handlers.insert(r.error_handlers.end(), s->error_handlers.begin(),
                            s->error_handlers.end());
    if (s->depth == 0) break;
    r.scope[s->depth - 1] = id;
  }
}

std::string route_table::full_name(blueprint_id bp, std::string_view name) const {
  const auto s = scopes_.find(bp);
  if (s == scopes_.end()) return {};
  return join(s->second.full_prefix, name);
}

}  // namespace netcore::app
