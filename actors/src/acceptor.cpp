// Acceptors: a listening socket on the first event loop. Accepted connections are spread over
// the loops; running out of descriptors fails that accept only (counted, with a short pause so
// the loop does not spin on a listener that stays readable), never the process. With a
// pre-shared key, each accepted peer first runs the handshake on this loop (handshake_pool) and
// becomes a connection only once it passed.

#include "handshake_pool.hpp"
#include "runtime_impl.hpp"

#include <netcore/transports/listener.hpp>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <future>

namespace netcore::actors {

namespace detail {

struct acceptor_core : std::enable_shared_from_this<acceptor_core> {
  acceptor_core(runtime_impl& rt, std::unique_ptr<transports::listener> l, accept_handler h,
                connection_config c, stream_decorator d)
      : runtime(&rt), loop(rt.loops.front().get()), listener(std::move(l)), handler(std::move(h)),
        config(std::move(c)), decorate(std::move(d)),
        descriptor(loop->context(), listener->native_handle()), pause(loop->context()) {
    if (config.psk_server)
      handshakes = std::make_shared<handshake_pool>(
          *loop, config.psk_server, rt.pending_handshakes, rt.config.max_pending_handshakes,
          [this](std::unique_ptr<transports::byte_stream> s) { hand_over(std::move(s)); });
  }

  ~acceptor_core() { descriptor.release(); }

  void start() {
    runtime->add(this);
    auto self = shared_from_this();
    asio::post(loop->context(), [self] { self->arm(); });
  }

  void arm() {
    if (stopped) return;
    auto self = shared_from_this();
    descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                          [self](const asio::error_code& ec) {
                            if (!ec) self->on_readable();
                          });
  }

  void on_readable() {
    for (int i = 0; i < 64 && !stopped; ++i) {
      auto r = listener->try_accept();
      if (!r) {
        if (r.error() == transport_errc::closed) return;
        failures.fetch_add(1);
        {
          std::lock_guard<std::mutex> guard{mutex};
          last_error = r.error();
        }
        // EMFILE and friends: the listener stays readable; wait before trying again.
        auto self = shared_from_this();
        pause.expires_after(std::chrono::milliseconds{100});
        pause.async_wait([self](const asio::error_code& ec) {
          if (!ec) self->arm();
        });
        return;
      }
      if (!*r) {
        arm();
        return;
      }
      if (runtime->connection_count() >= runtime->config.max_connections) {
        refused.fetch_add(1);  // the stream closes as it goes out of scope
        continue;
      }
      std::unique_ptr<transports::byte_stream> stream = std::move(*r);
      if (decorate) {
        // E.g. TLS around the accepted socket; a pre-shared-key handshake then runs inside it.
        auto d = decorate(std::move(stream));
        if (!d) {
          failures.fetch_add(1);
          std::lock_guard<std::mutex> guard{mutex};
          last_error = d.error();
          continue;
        }
        stream = std::move(*d);
      }
      if (handshakes) {
        if (!handshakes->start(stream)) refused.fetch_add(1);  // at the bound: closed at once
        continue;
      }
      hand_over(std::move(stream));
    }
    if (!stopped) {
      auto self = shared_from_this();
      asio::post(loop->context(), [self] { self->on_readable(); });  // let others run first
    }
  }

  /// On the loop thread: `s` becomes a connection for the handler (unless the runtime is full).
  void hand_over(std::unique_ptr<transports::byte_stream> s) {
    if (runtime->connection_count() >= runtime->config.max_connections) {
      refused.fetch_add(1);  // the stream closes as it goes out of scope
      return;
    }
    accepted.fetch_add(1);
    auto c = runtime->adopt(std::move(s), config);
    try {
      handler(std::move(c));
    } catch (...) {
      // A throwing handler loses its connection (closed as it goes out of scope), not the
      // acceptor.
    }
  }

  /// On the loop thread: stop waiting and close the listener; pending handshakes end.
  void shutdown() {
    if (stopped) return;
    stopped = true;
    asio::error_code ignored;
    descriptor.cancel(ignored);
    pause.cancel();
    listener->close();
    if (handshakes) handshakes->close();
  }

  runtime_impl* runtime;
  io_loop* loop;
  std::unique_ptr<transports::listener> listener;
  accept_handler handler;
  connection_config config;
  stream_decorator decorate;
  asio::posix::stream_descriptor descriptor;
  asio::steady_timer pause;
  std::shared_ptr<handshake_pool> handshakes;  // with a pre-shared key
  bool stopped = false;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> refused{0};
  mutable std::mutex mutex;
  std::error_code last_error;
  std::atomic<bool> removed{false};
};

void stop_acceptor(acceptor_core* a) {
  if (a->removed.exchange(true)) return;
  if (a->loop->on_loop_thread()) {
    a->shutdown();
  } else {
    std::promise<void> done;
    asio::post(a->loop->context(), [a, &done] {
      a->shutdown();
      done.set_value();
    });
    done.get_future().wait();
  }
  a->runtime->remove(a);
}

}  // namespace detail

acceptor::acceptor(std::shared_ptr<detail::acceptor_core> core) : core_(std::move(core)) {}
acceptor::acceptor(acceptor&&) noexcept = default;
acceptor& acceptor::operator=(acceptor&& other) noexcept {
  if (this != &other) {
    close();
    core_ = std::move(other.core_);
  }
  return *this;
}
acceptor::~acceptor() {
  close();
}

std::uint16_t acceptor::port() const {
  return core_ ? core_->listener->port() : 0;
}

const std::string& acceptor::describe() const {
  static const std::string none;
  return core_ ? core_->listener->describe() : none;
}

std::uint64_t acceptor::accepted() const {
  return core_ ? core_->accepted.load() : 0;
}

std::uint64_t acceptor::failures() const {
  return core_ ? core_->failures.load() : 0;
}

std::uint64_t acceptor::refused() const {
  return core_ ? core_->refused.load() : 0;
}

handshake_counts acceptor::handshakes() const {
  handshake_counts out;
  if (core_ && core_->handshakes) {
    const auto& c = core_->handshakes->counters();
    out.pending = c.pending.load();
    out.authenticated = c.authenticated.load();
    out.failed = c.failed.load();
    out.timed_out = c.timed_out.load();
  }
  return out;
}

std::error_code acceptor::last_error() const {
  if (!core_) return {};
  std::lock_guard<std::mutex> guard{core_->mutex};
  return core_->last_error;
}

void acceptor::close() {
  if (core_) detail::stop_acceptor(core_.get());
}

acceptor runtime::listen(std::unique_ptr<transports::listener> l, accept_handler on_accept,
                         connection_config config, stream_decorator decorate) {
  auto core = std::make_shared<detail::acceptor_core>(*impl_, std::move(l), std::move(on_accept),
                                                      std::move(config), std::move(decorate));
  core->start();
  return acceptor{std::move(core)};
}

protocol::result<acceptor, std::error_code>
runtime::listen_tcp(const std::string& address, std::uint16_t port, accept_handler on_accept,
                    connection_config config, const transports::tcp_options& opts) {
  if (config.psk_server) {
    if (auto e = transports::validate(*config.psk_server)) return e;
  }
  auto l = transports::listener::tcp(address, port, opts);
  if (!l) return l.error();
  return listen(std::move(*l), std::move(on_accept), std::move(config));
}

protocol::result<acceptor, std::error_code>
runtime::listen_unix(const std::string& path, accept_handler on_accept, connection_config config) {
  if (config.psk_server) {
    if (auto e = transports::validate(*config.psk_server)) return e;
  }
  auto l = transports::listener::unix_socket(path);
  if (!l) return l.error();
  return listen(std::move(*l), std::move(on_accept), std::move(config));
}

}  // namespace netcore::actors
