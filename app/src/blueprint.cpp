#include <netcore/app/blueprint.hpp>
#include <netcore/app/route_errors.hpp>

#include "endpoint_core.hpp"

namespace netcore::app {

namespace {

std::error_code no_scope() {
  return route_errc::unknown_blueprint;
}

}  // namespace

std::error_code blueprint::handle(std::string_view name, sync_handler h, route_options options,
                                  bool replace) {
  if (!core_) return no_scope();
  if (!h) return std::make_error_code(std::errc::invalid_argument);
  auto fn = [h = std::move(h)](const request& req, responder r) { r.reply(h(req)); };
  return core_->add_route(id_, name, std::move(fn), options, replace);
}

std::error_code blueprint::handle_async(std::string_view name, handler h, route_options options,
                                        bool replace) {
  if (!core_) return no_scope();
  return core_->add_route(id_, name, std::move(h), options, replace);
}

std::error_code blueprint::remove(std::string_view name) {
  if (!core_) return no_scope();
  return core_->update([&](detail::routing& r) -> std::error_code {
    const auto before = r.table.resolve(r.table.full_name(id_, name));
    if (auto e = r.table.remove_route(id_, name)) return e;
    if (before.found) r.handlers.erase(before.handler);
    return {};
  });
}

blueprint blueprint::group(std::string_view prefix, std::error_code* error) {
  if (!core_) {
    if (error) *error = no_scope();
    return {};
  }
  std::uint32_t made = 0;
  std::string full;
  auto e = core_->update([&](detail::routing& r) -> std::error_code {
    auto added = r.table.add_blueprint(id_, prefix);
    if (!added) return added.error;
    made = added.id;
    full = r.table.full_name(made, "");
    return {};
  });
  if (error) *error = e;
  if (e) return {};
  return blueprint{core_, made, std::move(full)};
}

std::error_code blueprint::remove_group() {
  if (!core_) return no_scope();
  return core_->update(
      [&](detail::routing& r) -> std::error_code { return r.table.remove_blueprint(id_); });
}

std::error_code blueprint::use(middleware m) {
  if (!core_) return no_scope();
  return core_->add_piece(
      id_, &detail::routing::middleware_fns, std::move(m),
      [](route_table& t, std::uint32_t in, std::uint64_t id) { return t.add_middleware(in, id); });
}

std::error_code blueprint::before(before_hook h) {
  if (!core_) return no_scope();
  return core_->add_piece(
      id_, &detail::routing::before_fns, std::move(h),
      [](route_table& t, std::uint32_t in, std::uint64_t id) { return t.add_before_hook(in, id); });
}

std::error_code blueprint::after(after_hook h) {
  if (!core_) return no_scope();
  return core_->add_piece(
      id_, &detail::routing::after_fns, std::move(h),
      [](route_table& t, std::uint32_t in, std::uint64_t id) { return t.add_after_hook(in, id); });
}

std::error_code blueprint::on_error(error_handler h) {
  if (!core_) return no_scope();
  return core_->add_piece(id_, &detail::routing::error_fns, std::move(h),
                          [](route_table& t, std::uint32_t in, std::uint64_t id) {
                            return t.add_error_handler(in, id);
                          });
}

std::error_code blueprint::set_default(handler h) {
  if (!core_) return no_scope();
  return core_->update([&](detail::routing& r) -> std::error_code {
    const auto key = h ? ++core_->next_id : 0;
    if (auto e = r.table.set_default_handler(id_, key)) return e;
    if (key != 0) r.handlers.emplace(key, detail::handler_entry{std::move(h), false, 0});
    return {};
  });
}

}  // namespace netcore::app
