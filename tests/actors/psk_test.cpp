// Pre-shared-key authentication through the runtime's public API, on real threads: acceptors run
// the handshake on their event loop (handshake_pool.cpp) and only a peer that holds a key becomes
// a connection; the
// connect calls run the client side. Waits are on conditions with deadlines; the only real time
// is the short handshake timeout of the tests that need one.

#include <netcore/actors/runtime.hpp>

#include <netcore/transports/listener.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "runtime_support.hpp"

using namespace netcore;
using namespace netcore::actors;
using namespace netcore::actors::test;
using bytes = std::vector<std::uint8_t>;

namespace {

const bytes alice_key(32, 0xA1);
const bytes bob_key(24, 0xB2);

connection_config psk_server(std::chrono::milliseconds timeout = 10s) {
  auto lookup = transports::psk_key_table({{"alice", alice_key}, {"bob", bob_key}});
  EXPECT_TRUE(lookup);
  connection_config c;
  c.psk_server = std::make_shared<const transports::psk_server_config>(
      transports::psk_server_config{*lookup, timeout});
  return c;
}

connection_config psk_client(std::string identity, bytes key,
                             std::chrono::milliseconds timeout = 10s) {
  connection_config c;
  c.psk = transports::psk_config{std::move(identity), std::move(key), timeout};
  return c;
}

/// Polls `done` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// Bytes read from `fd` until the end of the stream (or 10 s of silence, or 1 KiB).
std::size_t read_to_end(int fd) {
  std::size_t total = 0;
  char buf[256];
  while (total < 1024) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  return total;
}

/// One message from `from` arrives at `to` with its route.
void expect_message(connection& from, connection& to, const std::string& route) {
  ASSERT_TRUE(from.send(outgoing_message::from_bytes(route, pattern(1000, 7))));
  auto m = to.receive(10s);
  ASSERT_TRUE(m) << m.error().reason.message();
  EXPECT_EQ(m->meta.route, route);
}

runtime_config three_pending() {
  runtime_config c;
  c.max_pending_handshakes = 3;
  return c;
}

class psk_test : public runtime_fixture {
 protected:
  psk_test() : runtime_fixture(three_pending()) {}
};

}  // namespace

TEST_F(psk_test, a_client_with_the_key_gets_a_session_and_both_ends_see_its_identity) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l) << l.error().message();
  auto client = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("alice", alice_key));
  ASSERT_TRUE(client) << client.error().message();
  ASSERT_TRUE(acc.wait(1));
  std::lock_guard<std::mutex> guard{acc.mtx};
  auto& server = acc.conns.front();
  EXPECT_EQ(client->peer().psk_identity, "alice");
  EXPECT_EQ(server.peer().psk_identity, "alice");
  expect_message(*client, server, "to-server");
  expect_message(server, *client, "to-client");
  const auto h = l->handshakes();
  EXPECT_EQ(h.authenticated, 1u);
  EXPECT_EQ(h.pending, 0u);
  EXPECT_EQ(h.failed, 0u);
  EXPECT_EQ(l->accepted(), 1u);
}

TEST_F(psk_test, a_wrong_key_is_refused_before_any_connection_exists) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l);
  auto wrong = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("alice", bytes(32, 0x55)));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), std::error_code{transport_errc::auth_failed});
  auto unknown = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("mallory", alice_key));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), std::error_code{transport_errc::auth_failed});
  ASSERT_TRUE(eventually([&] { return l->handshakes().failed == 2; }));
  EXPECT_EQ(l->handshakes().pending, 0u);
  EXPECT_EQ(l->accepted(), 0u);
  EXPECT_EQ(rt_->connections(), 0u) << "no connection at either end";
  std::lock_guard<std::mutex> guard{acc.mtx};
  EXPECT_TRUE(acc.conns.empty());
}

TEST_F(psk_test, a_peer_that_never_speaks_is_dropped_after_the_timeout) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server(150ms));
  ASSERT_TRUE(l);
  const int fd = raw_connect(l->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(eventually([&] { return l->handshakes().pending == 1; }));
  // It hears the hello (40 bytes), then the end of the stream once the timeout passed.
  EXPECT_EQ(read_to_end(fd), 40u);
  EXPECT_TRUE(eventually([&] { return l->handshakes().timed_out == 1; }));
  EXPECT_EQ(l->handshakes().pending, 0u);
  EXPECT_EQ(l->accepted(), 0u);
  EXPECT_EQ(rt_->connections(), 0u);
  ::close(fd);
}

TEST_F(psk_test, unauthenticated_peers_are_bounded_by_the_pending_handshake_limit) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l);
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(raw_connect(l->port()));
    ASSERT_GE(fds.back(), 0);
  }
  ASSERT_TRUE(eventually([&] { return l->handshakes().pending + l->refused() == 5; }));
  EXPECT_EQ(l->handshakes().pending, 3u);
  EXPECT_EQ(l->refused(), 2u);
  // The two beyond the bound were closed without a hello; the three others got theirs.
  std::size_t closed_at_once = 0;
  for (int fd : fds) {
    char hello[40];
    const auto n = ::recv(fd, hello, sizeof hello, MSG_WAITALL);
    if (n <= 0) {
      ++closed_at_once;
    } else {
      EXPECT_EQ(n, 40);
    }
  }
  EXPECT_EQ(closed_at_once, 2u);
  // The peers that leave free their places: a client with the key gets in.
  for (int fd : fds) ::close(fd);
  ASSERT_TRUE(eventually([&] { return l->handshakes().pending == 0; }));
  EXPECT_EQ(l->handshakes().failed, 3u);
  auto client = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("bob", bob_key));
  ASSERT_TRUE(client) << client.error().message();
  ASSERT_TRUE(acc.wait(1));
  EXPECT_EQ(client->peer().psk_identity, "bob");
}

TEST_F(psk_test, a_good_client_keeps_working_while_bad_ones_are_refused) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l);
  auto good = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("bob", bob_key));
  ASSERT_TRUE(good) << good.error().message();
  ASSERT_TRUE(acc.wait(1));
  std::unique_lock<std::mutex> guard{acc.mtx};
  auto& server = acc.conns.front();
  guard.unlock();
  expect_message(*good, server, "before");
  // Bob's key does not open Alice's identity, and a peer that starts with a plain netcore HELLO
  // frame ("NC", version 1, type 0x0A) is no handshake at all.
  auto bad = rt_->connect_tcp("127.0.0.1", l->port(), psk_client("alice", bob_key));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), std::error_code{transport_errc::auth_failed});
  const int plain = raw_connect(l->port());
  ASSERT_GE(plain, 0);
  const char frame[8] = {'N', 'C', 1, 0x0A, 0, 0, 0, 0};
  ASSERT_EQ(::send(plain, frame, sizeof frame, MSG_NOSIGNAL), 8);
  read_to_end(plain);  // the server closes it without a session
  ::close(plain);
  ASSERT_TRUE(eventually([&] { return l->handshakes().failed == 2; }));
  expect_message(*good, server, "after");
  expect_message(server, *good, "reply");
  EXPECT_EQ(l->accepted(), 1u);
  EXPECT_EQ(l->handshakes().authenticated, 1u);
}

TEST_F(psk_test, a_psk_client_refuses_a_server_that_does_not_speak_the_handshake) {
  accepted acc;
  auto plain = rt_->listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(plain);
  auto c = rt_->connect_tcp("127.0.0.1", plain->port(), psk_client("alice", alice_key));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::error_code{transport_errc::auth_protocol_error});
}

TEST_F(psk_test, a_psk_client_gives_up_on_a_silent_server_after_its_timeout) {
  auto silent = transports::listener::tcp("127.0.0.1", 0);  // the kernel accepts, nobody speaks
  ASSERT_TRUE(silent);
  const auto start = std::chrono::steady_clock::now();
  auto c = rt_->connect_tcp("127.0.0.1", (*silent)->port(), psk_client("alice", alice_key, 150ms));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::error_code{transport_errc::auth_timeout});
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 10s);
}

TEST_F(psk_test, unix_sockets_authenticate_the_same_way) {
  ::mkdir(NETCORE_TEST_TMP, 0700);
  const std::string path =
      std::string{NETCORE_TEST_TMP} + "/psk-" + std::to_string(::getpid()) + ".sock";
  accepted acc;
  auto l = rt_->listen_unix(path, acc.handler(), psk_server());
  ASSERT_TRUE(l) << l.error().message();
  auto client = rt_->connect_unix(path, psk_client("bob", bob_key));
  ASSERT_TRUE(client) << client.error().message();
  ASSERT_TRUE(acc.wait(1));
  std::lock_guard<std::mutex> guard{acc.mtx};
  EXPECT_EQ(acc.conns.front().peer().psk_identity, "bob");
  expect_message(*client, acc.conns.front(), "over-unix");
  auto wrong = rt_->connect_unix(path, psk_client("bob", alice_key));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), std::error_code{transport_errc::auth_failed});
}

TEST_F(psk_test, closing_an_acceptor_ends_its_pending_handshakes) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l);
  const int fd = raw_connect(l->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(eventually([&] { return l->handshakes().pending == 1; }));
  l->close();
  EXPECT_EQ(read_to_end(fd), 40u) << "the hello, then the end";
  ::close(fd);
  EXPECT_EQ(rt_->connections(), 0u);
}

TEST_F(psk_test, unusable_keys_are_typed_errors) {
  accepted acc;
  auto bad_server = psk_server();
  bad_server.psk_server = std::make_shared<const transports::psk_server_config>();
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), bad_server);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error(), std::error_code{transport_errc::invalid_argument});
  auto good = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(good);
  auto c = rt_->connect_tcp("127.0.0.1", good->port(), psk_client("alice", bytes(8, 1)));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::error_code{transport_errc::invalid_argument});
  EXPECT_EQ(rt_->connections(), 0u);
}

TEST_F(psk_test, a_plain_client_is_refused_and_its_connection_ends) {
  // The server's hello and refusal (and then a reset) can be there before the client's
  // connection actor starts: the connection still ends and leaves the runtime.
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), psk_server());
  ASSERT_TRUE(l);
  for (int i = 0; i < 20; ++i) {
    auto plain = rt_->connect_tcp("127.0.0.1", l->port());
    ASSERT_TRUE(plain) << "a plain client does not wait for the server";
    auto ended = plain->receive(10s);
    ASSERT_FALSE(ended) << "the server closes it without a session";
    EXPECT_NE(ended.error().reason, std::error_code{runtime_errc::timed_out});
    ASSERT_TRUE(eventually([&] { return rt_->connections() == 0; })) << "round " << i;
  }
  EXPECT_TRUE(eventually([&] { return l->handshakes().failed == 20; }));
  EXPECT_EQ(l->accepted(), 0u);
}
