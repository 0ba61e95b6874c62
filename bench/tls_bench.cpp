// R2: the cost of TLS on a netcore connection, measured against the same connection without it.

#include "tls_bench.hpp"

#include "tls_test_support.hpp"

#include <netcore/transports/listener.hpp>
#include <netcore/transports/tcp_stream.hpp>
#include <netcore/transports/tls.hpp>

#include <caf/all.hpp>

#include <time.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace netcore::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using stream_ptr = std::unique_ptr<transports::byte_stream>;
constexpr auto wait_limit = std::chrono::seconds{120};

/// A connected pair over TCP on 127.0.0.1, TLS client and server on top when `tls`. Both
/// contexts are made once per process, as a server would.
std::pair<stream_ptr, stream_ptr> pair(bool tls) {
  auto listener = transports::listener::tcp("127.0.0.1", 0);
  if (!listener) throw std::runtime_error("listen failed");
  stream_ptr server;
  std::thread acceptor{[&] {
    auto s = (*listener)->accept();
    if (s) server = std::move(*s);
  }};
  auto client = transports::tcp_connect("127.0.0.1", (*listener)->port());
  acceptor.join();
  if (!client || !server) throw std::runtime_error("connect failed");
  if (!tls) return {std::move(*client), std::move(server)};
  const auto& pki = transports::test::test_pki::get();
  static const auto client_ctx = transports::tls_context::make(pki.client_config());
  static const auto server_ctx = transports::tls_context::make(pki.server_config());
  if (!client_ctx || !server_ctx) throw std::runtime_error("TLS contexts");
  auto c = transports::make_tls(std::move(*client), *client_ctx);
  auto s = transports::make_tls(std::move(server), *server_ctx);
  if (!c || !s) throw std::runtime_error("TLS streams");
  return {std::move(*c), std::move(*s)};
}

actors::connection_config base_config(const std::string& spill) {
  actors::connection_config c;
  c.storage.spill_directory = spill;
  c.keepalive_interval = std::chrono::milliseconds{0};
  return c;
}

actors::outgoing_message message_of(const std::string& route,
                                    std::shared_ptr<const protocol::byte_buffer> body) {
  actors::outgoing_message m;
  m.meta.route = route;
  m.bytes = std::move(body);
  return m;
}

/// CPU time of all the process's threads: on a shared machine the cost of a transfer shows
/// better in it than in the elapsed time.
double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::shared_ptr<const protocol::byte_buffer> make_body(std::size_t n) {
  auto b = std::make_shared<protocol::byte_buffer>(n);
  for (std::size_t i = 0; i < n; ++i) (*b)[i] = static_cast<std::uint8_t>(i * 131 + (i >> 9));
  return b;
}

}  // namespace

bulk_figures tls_bulk(actors::runtime& rt, const std::string& spill, bool tls,
                      std::uint64_t total) {
  constexpr std::size_t message = 1u << 20;
  const std::size_t count = static_cast<std::size_t>(total / message);
  auto [sa, sb] = pair(tls);
  auto a = rt.adopt(std::move(sa), base_config(spill));
  auto b = rt.adopt(std::move(sb), base_config(spill));
  caf::scoped_actor sink{rt.system()};
  b.attach(caf::actor_cast<actors::delivery_sink>(sink));
  auto body = make_body(message);
  const double cpu0 = process_cpu_seconds();
  const auto t0 = clock_type::now();
  std::thread sender{[&] {
    for (std::size_t i = 0; i < count; ++i) a.send(message_of("bulk", body));
  }};
  std::size_t received = 0;
  bool ok = true;
  while (ok && received < count) {
    sink->receive(
        [&](actors::deliver_atom, actors::delivery& d) {
          received += d.messages.size();
          if (!d.failures.empty()) ok = false;
          return caf::ok_atom::value;
        },
        caf::after(wait_limit) >> [&] { ok = false; });
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  sender.join();
  if (!ok) throw std::runtime_error("R2: bulk transfer failed");
  a.abort();
  b.abort();
  return {static_cast<double>(count * message) / secs / 1e9, cpu};
}

latency tls_idle_rtt(actors::runtime& rt, const std::string& spill, bool tls, std::size_t samples) {
  auto [sa, sb] = pair(tls);
  auto a = rt.adopt(std::move(sa), base_config(spill));
  auto b = rt.adopt(std::move(sb), base_config(spill));
  // As P6: a plain C++ client, an echoing actor at the server end.
  auto echo = rt.system().spawn(
      [](actors::delivery_sink::pointer self) -> actors::delivery_sink::behavior_type {
        return {[self](actors::deliver_atom, actors::delivery& d) {
          auto conn = caf::actor_cast<actors::connection_actor>(self->current_sender());
          for (auto& m : d.messages)
            self->send(
                conn, actors::send_atom::value, std::uint64_t{0},
                message_of("resp", std::make_shared<protocol::byte_buffer>(m.body.take_bytes())));
          return caf::ok_atom::value;
        }};
      });
  b.attach(echo);
  auto request = make_body(100);
  std::vector<double> rtts;
  for (std::size_t i = 0; i < samples + samples / 10; ++i) {
    const auto t0 = clock_type::now();
    a.send(message_of("req", request));
    auto got = a.receive(wait_limit);
    if (!got) throw std::runtime_error("R2: no answer");
    if (i >= samples / 10)  // the first tenth warms up (the handshake is in the first one)
      rtts.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  a.abort();
  b.abort();
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return percentiles(rtts);
}

}  // namespace netcore::bench
