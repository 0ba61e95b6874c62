#include <netcore/app/endpoint.hpp>

#include "dispatcher.hpp"

#include <caf/send.hpp>

#include <limits>
#include <mutex>
#include <set>

namespace netcore::app {

struct endpoint::impl {
  actors::runtime* rt = nullptr;
  endpoint_config config;
  std::shared_ptr<detail::routing_holder> routes = std::make_shared<detail::routing_holder>();
  caf::actor dispatcher;
  std::mutex mutex;  // writers of the routes and of `served` (readers take snapshots)
  std::uint64_t next_handler = 0;
  std::set<caf::actor_addr> served;

  /// Copies the routing, lets `change` edit the copy, and publishes it when it succeeds.
  template <class F>
  std::error_code update(F&& change) {
    std::lock_guard<std::mutex> guard{mutex};
    auto next = std::make_shared<detail::routing>(*routes->load());
    if (auto e = change(*next)) return e;
    routes->store(std::move(next));
    return {};
  }

  std::error_code add(std::string_view name, handler h, route_options o, bool replace) {
    return update([&](detail::routing& r) -> std::error_code {
      const auto key = ++next_handler;
      // The handler a replaced route had is no longer reachable once the new routing is out.
      const auto before = r.table.resolve(name);
      if (auto e = r.table.add_route(route_table::root, name, key, replace)) return e;
      if (before.found && !before.is_default) r.handlers.erase(before.handler);
      r.handlers.emplace(key, detail::handler_entry{std::move(h), o.blocking, o.max_concurrency});
      return {};
    });
  }
};

endpoint::endpoint(actors::runtime& rt, endpoint_config config) : impl_(std::make_unique<impl>()) {
  impl_->rt = &rt;
  impl_->config = config;
  detail::dispatcher_limits limits;
  limits.max_active_calls = config.max_active_calls;
  limits.max_pending_calls = config.max_pending_calls;
  impl_->dispatcher = detail::spawn_dispatcher(rt.system(), impl_->routes, limits);
}

endpoint::~endpoint() {
  caf::anon_send_exit(impl_->dispatcher, caf::exit_reason::user_shutdown);
}

std::error_code endpoint::handle(std::string_view name, sync_handler h, route_options options,
                                 bool replace) {
  auto fn = [h = std::move(h)](const request& req, responder r) { r.reply(h(req)); };
  return impl_->add(name, std::move(fn), options, replace);
}

std::error_code endpoint::handle_async(std::string_view name, handler h, route_options options,
                                       bool replace) {
  return impl_->add(name, std::move(h), options, replace);
}

std::error_code endpoint::remove(std::string_view name) {
  return impl_->update([&](detail::routing& r) -> std::error_code {
    const auto before = r.table.resolve(name);
    if (auto e = r.table.remove_route(route_table::root, name)) return e;
    if (before.found) r.handlers.erase(before.handler);
    return {};
  });
}

void endpoint::set_default(handler h) {
  impl_->update([&](detail::routing& r) -> std::error_code {
    const auto key = h ? ++impl_->next_handler : 0;
    if (auto e = r.table.set_default_handler(route_table::root, key)) return e;
    if (r.default_handler != 0) r.handlers.erase(r.default_handler);
    r.default_handler = key;
    if (key != 0) r.handlers.emplace(key, detail::handler_entry{std::move(h), false, 0});
    return {};
  });
}

void endpoint::serve(actors::connection& c) {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    if (!impl_->served.insert(c.actor().address()).second) return;
  }
  c.attach(caf::actor_cast<actors::delivery_sink>(impl_->dispatcher));
  c.subscribe(caf::actor_cast<actors::event_sink>(impl_->dispatcher));
}

void endpoint::call(actors::connection& c, actors::outgoing_message request,
                    std::chrono::milliseconds timeout, std::function<void(reply)> done) {
  serve(c);
  if (timeout.count() <= 0) timeout = impl_->config.default_timeout;
  protocol::call_info info;
  info.deadline_ms = static_cast<std::uint32_t>(
      std::min<std::int64_t>(timeout.count(), std::numeric_limits<std::uint32_t>::max()));
  request.meta.call = std::move(info);
  auto pending = std::make_shared<detail::pending_call>();
  pending->done = std::move(done);
  const auto id = c.allocate_id();
  caf::anon_send(impl_->dispatcher, detail::call_atom::value, c.actor(), id, std::move(request),
                 static_cast<std::uint64_t>(timeout.count()), std::move(pending));
}

std::future<reply> endpoint::call(actors::connection& c, actors::outgoing_message request,
                                  std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<reply>>();
  auto future = promise->get_future();
  call(c, std::move(request), timeout, [promise](reply r) { promise->set_value(std::move(r)); });
  return future;
}

std::error_code endpoint::send(actors::connection& c, actors::outgoing_message message) {
  serve(c);
  message.meta.call.reset();
  auto r = c.send(std::move(message));
  return r ? std::error_code{} : r.error();
}

actors::delivery_sink endpoint::sink() const {
  return caf::actor_cast<actors::delivery_sink>(impl_->dispatcher);
}

}  // namespace netcore::app
