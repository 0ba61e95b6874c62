#include <netcore/app/server.hpp>

#include "dispatcher.hpp"
#include "server_actor.hpp"

#include <netcore/actors/errors.hpp>
#include <netcore/transports/listener.hpp>

#include <caf/all.hpp>

#include <mutex>
#include <vector>

namespace netcore::app {

struct server::impl {
  actors::runtime* rt = nullptr;
  endpoint* ep = nullptr;
  server_config config;
  caf::actor actor;
  std::mutex mutex;  // acceptors, stopped
  std::vector<actors::acceptor> acceptors;
  bool stopped = false;

  /// Serves `l`: every accepted connection goes to the server's actor.
  std::error_code add(std::unique_ptr<transports::listener> l) {
    std::lock_guard<std::mutex> guard{mutex};
    if (stopped) return runtime_errc::shutting_down;
    auto name = l->describe();
    auto target = actor;
    auto a = rt->listen(
        std::move(l),
        [target, name](actors::connection c) {
          caf::anon_send(target, detail::adopt_atom::value,
                         std::make_shared<actors::connection>(std::move(c)), name);
        },
        config.connection);
    acceptors.push_back(std::move(a));
    caf::anon_send(actor, detail::listeners_atom::value,
                   static_cast<std::uint64_t>(acceptors.size()));
    return {};
  }
};

server::server(actors::runtime& rt, endpoint& ep, server_config config)
    : impl_(std::make_shared<impl>()) {
  impl_->rt = &rt;
  impl_->ep = &ep;
  impl_->config = config;
  detail::server_setup setup;
  setup.config = std::move(config);
  setup.ep = &ep;
  setup.dispatcher = caf::actor_cast<caf::actor>(ep.sink());
  impl_->actor = detail::spawn_server_actor(rt.system(), std::move(setup));
}

server::~server() {
  shutdown(impl_->config.shutdown_timeout);
  caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

protocol::result<std::uint16_t, std::error_code>
server::listen_tcp(const std::string& address, std::uint16_t port,
                   const transports::tcp_options& opts) {
  auto l = transports::listener::tcp(address, port, opts);
  if (!l) return l.error();
  const auto bound = (*l)->port();
  if (auto e = impl_->add(std::move(*l))) return e;
  return bound;
}

std::error_code server::listen_unix(const std::string& path) {
  auto l = transports::listener::unix_socket(path);
  if (!l) return l.error();
  return impl_->add(std::move(*l));
}

void server::serve(actors::connection c) {
  caf::anon_send(impl_->actor, detail::adopt_atom::value,
                 std::make_shared<actors::connection>(std::move(c)), std::string{"served"});
}

void server::shutdown(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    if (impl_->stopped) return;
    impl_->stopped = true;
    // Phase 0: no new connections (those accepted meanwhile are refused by the actor).
    for (auto& a : impl_->acceptors) a.close();
    impl_->acceptors.clear();
  }
  caf::scoped_actor self{impl_->rt->system()};
  self->send(impl_->actor, detail::listeners_atom::value, std::uint64_t{0});
  self->send(impl_->actor, detail::refuse_new_atom::value);
  // Phase 1: the calls being answered finish (new ones are answered unavailable).
  impl_->ep->stop(deadline / 2);
  // Phase 2: every connection closes gracefully in what is left; the rest is aborted.
  const auto left = std::max(std::chrono::steady_clock::duration::zero(),
                             until - std::chrono::steady_clock::now());
  self->request(impl_->actor, caf::infinite, detail::close_all_atom::value,
                caf::timespan{std::chrono::duration_cast<caf::timespan>(left)})
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
}

server_stats server::stats() const {
  caf::scoped_actor self{impl_->rt->system()};
  server_stats out;
  self->request(impl_->actor, std::chrono::seconds{10}, detail::server_stats_atom::value)
      .receive([&](server_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

}  // namespace netcore::app
