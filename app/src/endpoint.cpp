#include <netcore/app/endpoint.hpp>
#include <netcore/session/core.hpp>

#include "caller.hpp"
#include "endpoint_core.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <limits>

namespace netcore::app {

namespace detail {

std::error_code endpoint_core::add_route(std::uint32_t in, std::string_view name, handler h,
                                         route_options o, bool replace) {
  if (!h) return std::make_error_code(std::errc::invalid_argument);
  return update([&](routing& r) -> std::error_code {
    const auto key = ++next_id;
    const auto full = r.table.full_name(in, name);
    const auto before = r.table.resolve(full);
    if (auto e = r.table.add_route(in, name, key, replace)) return e;
    // The handler of a replaced route is unreachable once this routing is out.
    if (before.found) r.handlers.erase(before.handler);
    r.handlers.emplace(key, handler_entry{std::move(h), o.blocking, o.max_concurrency});
    return {};
  });
}

}  // namespace detail

endpoint::endpoint(actors::runtime& rt, endpoint_config config)
    : impl_(std::make_shared<detail::endpoint_core>()) {
  impl_->rt = &rt;
  impl_->config = config;
  detail::dispatcher_limits limits;
  limits.max_active_calls = config.max_active_calls;
  limits.max_pending_calls = config.max_pending_calls;
  limits.max_active_bytes = config.max_active_bytes;
  limits.max_connection_bytes = config.max_active_bytes_per_connection;
  limits.ev = config.events;
  impl_->dispatcher = detail::spawn_dispatcher(rt.system(), impl_->routes, impl_->served, limits);
  if (config.events) config.events->emit(event_names::started);
}

endpoint::~endpoint() {
  caf::anon_send_exit(impl_->dispatcher, caf::exit_reason::user_shutdown);
  if (impl_->config.events) impl_->config.events->emit(event_names::stopped);
}

blueprint endpoint::root() {
  return blueprint{impl_, route_table::root, {}};
}

blueprint endpoint::group(std::string_view prefix, std::error_code* error) {
  return root().group(prefix, error);
}

std::error_code endpoint::handle(std::string_view name, sync_handler h, route_options options,
                                 bool replace) {
  return root().handle(name, std::move(h), options, replace);
}

std::error_code endpoint::handle_async(std::string_view name, handler h, route_options options,
                                       bool replace) {
  return root().handle_async(name, std::move(h), options, replace);
}

std::error_code endpoint::handle_actor(std::string_view name, handler_actor a,
                                       route_options options, bool replace) {
  if (!a) return std::make_error_code(std::errc::invalid_argument);
  auto* sys = &impl_->rt->system();
  handler h = [sys, a](const request& req, responder rs) {
    // Asked from an actor of its own, so the reply (now or later) needs no waiting thread.
    sys->spawn([a, req, rs](caf::event_based_actor* self) {
      self->request(a, caf::infinite, handle_atom::value, req)
          .then(
              [self, rs](response& r) {
                rs.reply(std::move(r));
                self->quit();
              },
              [self, rs](caf::error& e) {
                rs.reply(response::error(status::internal,
                                         "the handler actor failed: " + self->system().render(e)));
                self->quit();
              });
    });
  };
  return handle_async(name, std::move(h), options, replace);
}

std::error_code endpoint::remove(std::string_view name) {
  return root().remove(name);
}

void endpoint::set_default(handler h) {
  (void)root().set_default(std::move(h));
}

void endpoint::serve(actors::connection& c, std::shared_ptr<std::any> state) {
  // Before the connection is told to deliver here: its first request finds the state.
  if (state)
    caf::anon_send(impl_->dispatcher, detail::serve_atom::value, c.actor().address(),
                   std::move(state));
  {
    std::lock_guard<std::mutex> guard{impl_->served->mutex};
    if (!impl_->served->connections.insert(c.actor().address()).second) return;
  }
  c.attach(caf::actor_cast<actors::delivery_sink>(impl_->dispatcher));
  c.subscribe(caf::actor_cast<actors::event_sink>(impl_->dispatcher));
  if (impl_->config.events)
    impl_->config.events->emit(event_names::connected, connection_event{c.actor().address(), {}});
}

namespace {

// Sends `request` as call `id` on `conn` through the dispatcher of `core`.
void make_call(detail::endpoint_core& core, const actors::connection_actor& conn, std::uint64_t id,
               actors::outgoing_message request, std::chrono::milliseconds timeout,
               std::function<void(reply)> done) {
  if (timeout.count() <= 0) timeout = core.config.default_timeout;
  // At most what the wire carries (about 49 days), so no deadline overflows the clock.
  timeout = std::min(timeout, std::chrono::milliseconds{std::numeric_limits<std::uint32_t>::max()});
  protocol::call_info info;
  info.deadline_ms = static_cast<std::uint32_t>(timeout.count());
  request.meta.call = std::move(info);
  auto pending = std::make_shared<detail::pending_call>();
  pending->done = std::move(done);
  caf::anon_send(core.dispatcher, detail::call_atom::value, conn, id, std::move(request),
                 static_cast<std::uint64_t>(timeout.count()), std::move(pending));
}

}  // namespace

void endpoint::call(actors::connection& c, actors::outgoing_message request,
                    std::chrono::milliseconds timeout, std::function<void(reply)> done) {
  serve(c);
  make_call(*impl_, c.actor(), c.allocate_id(), std::move(request), timeout, std::move(done));
}

caller_actor endpoint::caller(actors::connection& c) {
  serve(c);
  std::weak_ptr<detail::endpoint_core> core = impl_;
  return detail::spawn_caller(impl_->rt->system(), [core, conn = c.actor(), ids = c.id_source()](
                                                       actors::outgoing_message request,
                                                       std::chrono::milliseconds timeout,
                                                       std::function<void(reply)> done) {
    auto live = core.lock();
    if (!live || !ids) return done(reply::failed(status::unavailable, "the endpoint is gone"));
    make_call(*live, conn, ids->allocate(), std::move(request), timeout, std::move(done));
  });
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
  auto route = message.meta.route;
  auto r = c.send(std::move(message));
  if (!r) return r.error();
  if (impl_->config.events)
    impl_->config.events->emit(event_names::message_sent,
                               call_event{std::move(route), *r, c.actor().address(), {}, {}});
  return {};
}

std::size_t endpoint::stop(std::chrono::milliseconds deadline) {
  caf::scoped_actor self{impl_->rt->system()};
  std::size_t forced = 0;
  self->request(impl_->dispatcher, deadline + std::chrono::seconds{10},
                detail::drain_calls_atom::value, caf::timespan{deadline})
      .receive([&](std::uint64_t n) { forced = static_cast<std::size_t>(n); }, [&](caf::error&) {});
  return forced;
}

const endpoint_config& endpoint::config() const noexcept {
  return impl_->config;
}

endpoint_stats endpoint::stats() const {
  caf::scoped_actor self{impl_->rt->system()};
  endpoint_stats out;
  self->request(impl_->dispatcher, std::chrono::seconds{10}, detail::endpoint_stats_atom::value)
      .receive([&](endpoint_stats& s) { out = s; }, [&](caf::error&) {});
  return out;
}

void endpoint::start() {
  caf::anon_send(impl_->dispatcher, detail::resume_atom::value);
}

actors::delivery_sink endpoint::sink() const {
  return caf::actor_cast<actors::delivery_sink>(impl_->dispatcher);
}

}  // namespace netcore::app
