#include <netcore/app/client.hpp>

#include "caller.hpp"
#include "client_actor.hpp"

#include <netcore/actors/errors.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <limits>

namespace netcore::app {

struct client::impl {
  actors::runtime* rt = nullptr;
  endpoint* ep = nullptr;
  caf::actor actor;
};

connector tcp_connector(actors::runtime& rt, std::string host, std::uint16_t port,
                        actors::connection_config config) {
  return [&rt, host = std::move(host), port, config] { return rt.connect_tcp(host, port, config); };
}

connector unix_connector(actors::runtime& rt, std::string path, actors::connection_config config) {
  return [&rt, path = std::move(path), config] { return rt.connect_unix(path, config); };
}

namespace {
// A call's timeout in milliseconds, 0 (the default) to what the wire carries (2^32 - 1).
std::uint64_t wire_timeout(std::chrono::milliseconds t) {
  return static_cast<std::uint64_t>(
      std::clamp<std::int64_t>(t.count(), 0, std::numeric_limits<std::uint32_t>::max()));
}
}  // namespace

client::client(actors::runtime& rt, endpoint& ep, client_config config)
    : impl_(std::make_shared<impl>()) {
  impl_->rt = &rt;
  impl_->ep = &ep;
  detail::client_setup setup;
  setup.config = std::move(config);
  setup.ep = &ep;
  setup.default_timeout = ep.config().default_timeout;
  impl_->actor = detail::spawn_client_actor(rt.system(), std::move(setup));
}

namespace {
client_config with_connector(connector connect) {
  client_config c;
  c.connect = std::move(connect);
  return c;
}
}  // namespace

client::client(actors::runtime& rt, endpoint& ep, connector connect)
    : client(rt, ep, with_connector(std::move(connect))) {}

client::~client() {
  std::shared_ptr<actors::connection> c;
  {
    caf::scoped_actor self{impl_->rt->system()};
    self->request(impl_->actor, std::chrono::seconds{30}, detail::cl_stop_atom::value)
        .receive([&](std::shared_ptr<actors::connection>& conn) { c = std::move(conn); },
                 [](caf::error&) {});
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  }
  if (c) c->close();  // gracefully, within its close_timeout
}

void client::call(actors::outgoing_message request, std::chrono::milliseconds timeout,
                  std::function<void(reply)> done) {
  auto d = std::make_shared<detail::client_done>();
  d->fn = std::move(done);
  caf::anon_send(impl_->actor, detail::cl_call_atom::value, std::move(request),
                 wire_timeout(timeout), std::move(d));
}

caller_actor client::caller() {
  return detail::spawn_caller(
      impl_->rt->system(),
      [actor = impl_->actor](actors::outgoing_message request, std::chrono::milliseconds timeout,
                             std::function<void(reply)> done) {
        auto d = std::make_shared<detail::client_done>();
        d->fn = std::move(done);
        // A client that is gone drops the message, and with it `done`: the caller then hears
        // status::unavailable.
        caf::anon_send(actor, detail::cl_call_atom::value, std::move(request),
                       wire_timeout(timeout), std::move(d));
      });
}

std::future<reply> client::call(actors::outgoing_message request,
                                std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<reply>>();
  auto future = promise->get_future();
  call(std::move(request), timeout, [promise](reply r) { promise->set_value(std::move(r)); });
  return future;
}

std::error_code client::send(actors::outgoing_message message) {
  std::shared_ptr<actors::connection> c;
  caf::scoped_actor self{impl_->rt->system()};
  self->request(impl_->actor, std::chrono::seconds{10}, detail::cl_current_atom::value)
      .receive([&](std::shared_ptr<actors::connection>& conn) { c = std::move(conn); },
               [](caf::error&) {});
  if (!c) return runtime_errc::closed;
  return impl_->ep->send(*c, std::move(message));
}

bool client::wait_connected(std::chrono::milliseconds timeout) {
  bool ok = false;
  caf::scoped_actor self{impl_->rt->system()};
  self->request(impl_->actor, timeout, detail::cl_ready_atom::value)
      .receive([&](bool connected) { ok = connected; }, [](caf::error&) {});
  return ok;
}

client_stats client::stats() const {
  client_stats out;
  caf::scoped_actor self{impl_->rt->system()};
  self->request(impl_->actor, std::chrono::seconds{10}, detail::cl_stats_atom::value)
      .receive([&](client_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

}  // namespace netcore::app
