// TLS through the runtime: the end-to-end scenarios over TLS on TCP and on a unix socketpair
// (polled on the event loop) and on an in-memory pair (reader and writer threads); typed
// failures and OpenSSL's reason at the connection API; a silent peer; a peer that ends without
// close_notify; the peer's identity at connection::peer_certificate().

#include "scenarios.hpp"

#include "../transports/tls_test_support.hpp"

#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/listener.hpp>
#include <netcore/transports/memory_stream.hpp>
#include <netcore/transports/tcp_stream.hpp>
#include <netcore/transports/tls.hpp>

using namespace netcore;
using namespace netcore::integration;
using transports::make_tls;
using transports::tls_config;
using transports::test::test_pki;

namespace {

const test_pki& pki() {
  return test_pki::get();
}

/// The connecting and the accepted end of a fresh TCP listener on loopback.
stream_pair tcp_raw() {
  auto l = transports::listener::tcp("127.0.0.1", 0);
  if (!l) return {};
  auto client = transports::tcp_connect("127.0.0.1", (*l)->port());
  if (!client) return {};
  auto server = (*l)->accept();
  if (!server) return {};
  return {std::move(*client), std::move(*server)};
}

stream_pair socketpair_raw() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  auto a = transports::fd_stream::adopt(fds[0], transports::fd_stream::kind::socket, {}, "sp a");
  auto b = transports::fd_stream::adopt(fds[1], transports::fd_stream::kind::socket, {}, "sp b");
  if (!a || !b) return {};
  return {std::move(*a), std::move(*b)};
}

stream_pair memory_raw() {
  auto [a, b] = transports::make_memory_pair();
  return {std::move(a), std::move(b)};
}

/// `raw` with a TLS client on its first and a TLS server on its second end.
stream_pair over_tls(stream_pair raw, const tls_config& client, const tls_config& server) {
  if (!raw.first || !raw.second) return {};
  auto c = make_tls(std::move(raw.first), client);
  auto s = make_tls(std::move(raw.second), server);
  if (!c || !s) return {};
  return {std::move(*c), std::move(*s)};
}

pair_factory tls_factory(stream_pair (*raw)(), bool mutual = false) {
  return
      [raw, mutual] { return over_tls(raw(), pki().client_config(), pki().server_config(mutual)); };
}

scale tls_scale() {
  scale s;
  s.message_count = 40;
  s.max_message = 16 * MiB;
  s.memory_threshold = 1 * MiB;
  return s;
}

class tls_integration : public scenario_fixture {};

}  // namespace

// -- round trips ---------------------------------------------------------------------------------

TEST_F(tls_integration, tcp_messages_both_directions) {
  concurrent_both_directions(tls_factory(tcp_raw), tls_scale());
}

TEST_F(tls_integration, socketpair_messages_both_directions_with_mutual_tls) {
  concurrent_both_directions(tls_factory(socketpair_raw, true), tls_scale());
}

TEST_F(tls_integration, memory_pair_messages_both_directions) {
  concurrent_both_directions(tls_factory(memory_raw), tls_scale());
}

TEST_F(tls_integration, tcp_stalled_receiver_throttles_sender) {
  auto s = scale{};
  stalled_receiver(tls_factory(tcp_raw), s);
}

// -- identity ------------------------------------------------------------------------------------

TEST_F(tls_integration, both_ends_see_the_peer_identity) {
  for (auto raw : {&tcp_raw, &memory_raw}) {
    auto [sa, sb] = tls_factory(raw, true)();
    ASSERT_TRUE(sa && sb);
    connection a = open(std::move(sa), config(scale{}));
    connection b = open(std::move(sb), config(scale{}));
    ASSERT_TRUE(a.send(outgoing_message::from_bytes("ping", pattern_body("ping", 10))));
    auto got = b.receive(10s);
    ASSERT_TRUE(got) << got.error().reason.message();
    ASSERT_TRUE(b.send(outgoing_message::from_bytes("pong", pattern_body("pong", 10))));
    ASSERT_TRUE(a.receive(10s));
    auto server = a.peer_certificate();
    ASSERT_TRUE(server);
    EXPECT_EQ(server->common_name, "server.test");
    EXPECT_TRUE(server->sha256 == pki().server.sha256);
    auto client = b.peer_certificate();
    ASSERT_TRUE(client);
    EXPECT_EQ(client->common_name, "client-7");
    EXPECT_EQ(client->dns_names, std::vector<std::string>{"client-7.test"});
    EXPECT_TRUE(client->sha256 == pki().client.sha256);
    EXPECT_TRUE(a.close().clean());
    EXPECT_TRUE(a.peer_certificate());  // kept after the end
  }
}

TEST_F(tls_integration, plain_transports_have_no_peer_identity) {
  auto [sa, sb] = tcp_raw();
  connection a = open(std::move(sa), config(scale{}));
  connection b = open(std::move(sb), config(scale{}));
  ASSERT_TRUE(a.send(outgoing_message::from_bytes("ping", pattern_body("ping", 10))));
  ASSERT_TRUE(b.receive(10s));
  EXPECT_FALSE(b.peer_certificate());
}

TEST_F(tls_integration, acceptor_serves_tls_with_one_context_for_all_connections) {
  auto ctx = transports::tls_context::make(pki().server_config(true));
  ASSERT_TRUE(ctx);
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<connection> accepted;
  auto l = transports::listener::tcp("127.0.0.1", 0);
  ASSERT_TRUE(l);
  const auto port = (*l)->port();
  auto acc = rt().listen(
      std::move(*l),
      [&](connection c) {
        std::lock_guard<std::mutex> g{mtx};
        accepted.push_back(std::move(c));
        cv.notify_all();
      },
      config(scale{}),
      [server = *ctx](std::unique_ptr<transports::byte_stream> s) {
        return make_tls(std::move(s), server);
      });
  auto client_ctx = transports::tls_context::make(pki().client_config());
  ASSERT_TRUE(client_ctx);
  std::vector<connection> clients;
  for (int i = 0; i < 3; ++i) {
    auto raw = transports::tcp_connect("127.0.0.1", port);
    ASSERT_TRUE(raw);
    auto s = make_tls(std::move(*raw), *client_ctx, "localhost");  // another SAN of the server
    ASSERT_TRUE(s);
    clients.push_back(open(std::move(*s), config(scale{})));
    const auto route = "hello/" + std::to_string(i);
    ASSERT_TRUE(clients.back().send(outgoing_message::from_bytes(route, pattern_body(route, 100))));
  }
  {
    std::unique_lock<std::mutex> g{mtx};
    ASSERT_TRUE(cv.wait_for(g, 10s, [&] { return accepted.size() == 3; }));
  }
  for (auto& server : accepted) {
    auto m = server.receive(10s);
    ASSERT_TRUE(m) << m.error().reason.message();
    EXPECT_EQ(check_body(m->body, m->meta.route, 100), "");
    auto who = server.peer_certificate();
    ASSERT_TRUE(who);
    EXPECT_EQ(who->common_name, "client-7");
    EXPECT_TRUE(server.describe().rfind("tls tcp", 0) == 0) << server.describe();
  }
  EXPECT_EQ(acc.accepted(), 3u);
  EXPECT_EQ(acc.failures(), 0u);
}

// -- failures ------------------------------------------------------------------------------------

/// How a connection ended, through receive() (its inbox exists before the connection's actor, so
/// even an end before anyone could subscribe is seen), with the transport's description then.
actors::connection_closed end_of(connection& c) {
  auto r = c.receive(10s);
  EXPECT_FALSE(r) << "a message arrived";
  auto end = c.close();
  if (!r) end.reason = r.error().reason;
  return end;
}

TEST_F(tls_integration, untrusted_server_ends_the_client_with_a_typed_error_and_the_reason) {
  for (auto raw : {&tcp_raw, &memory_raw}) {
    SCOPED_TRACE(raw == &tcp_raw ? "tcp" : "memory");
    tls_config server = pki().server_config();
    server.certificate_chain = transports::pem_source::from_text(pki().rogue_server.cert_pem);
    server.private_key = transports::pem_source::from_text(pki().rogue_server.key_pem);
    auto [sa, sb] = over_tls(raw(), pki().client_config(), server);
    ASSERT_TRUE(sa && sb);
    connection a = open(std::move(sa), config(scale{}));
    connection b = open(std::move(sb), config(scale{}));
    auto client = end_of(a);
    EXPECT_EQ(client.reason, std::error_code{transport_errc::tls_verify_failed})
        << client.reason.message();
    EXPECT_NE(client.transport.find("unable to get local issuer certificate"), std::string::npos)
        << client.transport;
    auto srv = end_of(b);
    EXPECT_EQ(srv.reason, std::error_code{transport_errc::tls_handshake_failed})
        << srv.reason.message();
    EXPECT_NE(srv.transport.find("unknown ca"), std::string::npos) << srv.transport;
  }
}

TEST_F(tls_integration, mutual_tls_refuses_a_client_without_certificate) {
  auto [sa, sb] =
      over_tls(tcp_raw(), pki().client_config("server.test", false), pki().server_config(true));
  ASSERT_TRUE(sa && sb);
  connection a = open(std::move(sa), config(scale{}));
  connection b = open(std::move(sb), config(scale{}));
  auto srv = end_of(b);
  EXPECT_EQ(srv.reason, std::error_code{transport_errc::tls_handshake_failed});
  EXPECT_NE(srv.transport.find("peer did not return a certificate"), std::string::npos)
      << srv.transport;
  auto client = end_of(a);
  EXPECT_EQ(client.reason, std::error_code{transport_errc::tls_handshake_failed})
      << client.reason.message();
  EXPECT_NE(client.transport.find("certificate required"), std::string::npos) << client.transport;
}

TEST_F(tls_integration, silent_peer_on_the_loop_ends_with_the_handshake_timeout) {
  // A TLS server on TCP whose client connects and never sends a byte: nothing wakes the
  // stream, the connection's own handshake timeout (no HELLO) ends it.
  auto raw = tcp_raw();
  ASSERT_TRUE(raw.first && raw.second);
  auto server = make_tls(std::move(raw.second), pki().server_config());
  ASSERT_TRUE(server);
  auto cfg = config(scale{});
  cfg.handshake_timeout = 300ms;
  event_log ev{sys()};
  const auto t0 = clock_type::now();
  connection b = open(std::move(*server), cfg, &ev);
  ASSERT_TRUE(ev.wait_until([&] { return ev.closed.has_value(); }, 10s));
  EXPECT_EQ(*ev.closed, std::error_code{runtime_errc::handshake_timeout});
  EXPECT_GE(clock_type::now() - t0, 300ms);
}

TEST_F(tls_integration, silent_peer_on_threads_ends_with_the_tls_handshake_timeout) {
  auto raw = memory_raw();
  tls_config cfg = pki().server_config();
  cfg.handshake_timeout = 300ms;
  auto server = make_tls(std::move(raw.second), cfg);
  ASSERT_TRUE(server);
  event_log ev{sys()};
  const auto t0 = clock_type::now();
  connection b = open(std::move(*server), config(scale{}), &ev);
  ASSERT_TRUE(ev.wait_until([&] { return ev.closed.has_value(); }, 10s));
  EXPECT_EQ(*ev.closed, std::error_code{transport_errc::tls_handshake_timeout})
      << ev.closed->message();
  EXPECT_GE(clock_type::now() - t0, 300ms);
  raw.first->close();
}

// -- the end -------------------------------------------------------------------------------------

TEST_F(tls_integration, peer_that_ends_without_close_notify_after_the_goaway_is_clean) {
  // A: TLS on the event loop (sends close_notify, then FIN). B: TLS over the same kind of socket
  // driven through user functions on threads, which cannot half-close: it closes without
  // close_notify. Both ends must see a clean close after the netcore GOAWAY exchange, whoever
  // starts it.
  for (bool a_closes : {true, false}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    auto polled =
        transports::fd_stream::adopt(fds[0], transports::fd_stream::kind::socket, {}, "sp polled");
    ASSERT_TRUE(polled);
    auto sa = make_tls(std::move(*polled), pki().client_config());
    auto sb = make_tls(socket_pipe_stream(fds[1], SIZE_MAX, SIZE_MAX), pki().server_config());
    ASSERT_TRUE(sa && sb);
    event_log ev_a{sys()};
    event_log ev_b{sys()};
    connection a = open(std::move(*sa), config(scale{}), &ev_a);
    connection b = open(std::move(*sb), config(scale{}), &ev_b);
    ASSERT_TRUE(a.send(outgoing_message::from_bytes("last", pattern_body("last", 70000))));
    auto m = b.receive(10s);
    ASSERT_TRUE(m) << m.error().reason.message();
    EXPECT_EQ(check_body(m->body, "last", 70000), "");
    auto first = a_closes ? a.close() : b.close();
    EXPECT_TRUE(first.clean()) << first.reason.message() << " " << first.transport;
    auto& other = a_closes ? ev_b : ev_a;
    ASSERT_TRUE(other.wait_until([&] { return other.closed.has_value(); }, 10s));
    EXPECT_FALSE(*other.closed) << other.closed->message();
  }
}
