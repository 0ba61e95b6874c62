// A server under a peer that tries to exhaust it, through the public API on real threads: every
// bound holds (the test reads the counter behind it), the peer gets a typed failure, and the
// connection, or another one, goes on working.

#include <netcore/actors/runtime.hpp>
#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/pipe_stream.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_support.hpp"

using namespace netcore;
using namespace netcore::actors;
using namespace netcore::actors::test;

namespace {

runtime_config one_spill_file() {
  runtime_config c;
  c.max_spill_files = 1;
  return c;
}

class spill_bounds_test : public runtime_fixture {
 protected:
  spill_bounds_test() : runtime_fixture(one_spill_file()) {}

  /// A server that spills every body above 64 KiB.
  static connection_config spilling() {
    connection_config c;
    c.storage.memory_threshold = 64u << 10;
    return c;
  }
};

}  // namespace

TEST_F(spill_bounds_test, messages_beyond_the_spill_file_bound_fail_at_both_ends) {
  auto [client, server] = tcp_pair({}, spilling());
  events ev{*sys_};
  client.subscribe(ev.handle());
  // Both open at once (one batch, interleaved): only one may hold a spill file.
  std::vector<outgoing_message> two;
  two.push_back(outgoing_message::from_bytes("first", pattern(2u << 20, 1)));
  two.push_back(outgoing_message::from_bytes("second", pattern(2u << 20, 2)));
  auto first_id = client.send_batch(std::move(two));
  ASSERT_TRUE(first_id);
  const std::uint64_t ids[] = {*first_id, *first_id + 1};
  std::size_t arrived = 0;
  std::size_t refused = 0;
  for (int i = 0; i < 2; ++i) {
    auto m = server.receive(10s);
    if (m) {
      ++arrived;
      EXPECT_TRUE(m->body.is_file());
      m->body.remove_file();
    } else {
      ++refused;
      EXPECT_EQ(m.error().reason, std::error_code{wire_errc::storage_full});
    }
  }
  EXPECT_EQ(arrived, 1u);
  EXPECT_EQ(refused, 1u);
  // The refused message's outcome is storage_full: at once when the refusal came back before its
  // last bytes were written, else as a second outcome after "written in full".
  std::size_t ok = 0;
  for (auto id : ids) {
    auto outcome = ev.outcome(id);
    ASSERT_TRUE(outcome) << "no outcome for " << id;
    if (!*outcome) {
      ++ok;
    } else {
      EXPECT_EQ(*outcome, std::error_code{wire_errc::storage_full}) << outcome->message();
    }
  }
  EXPECT_GE(ok, 1u);
  EXPECT_EQ(rt_->spill_usage().files(), 0u);
  EXPECT_EQ(rt_->spill_usage().bytes(), 0u);
  // The slot is free again: the next large message is received.
  ASSERT_TRUE(client.send(outgoing_message::from_bytes("third", pattern(1u << 20, 3))));
  auto third = server.receive(10s);
  ASSERT_TRUE(third) << third.error().reason.message();
  EXPECT_EQ(third->meta.route, "third");
  third->body.remove_file();
}

TEST_F(spill_bounds_test, a_declared_size_beyond_the_spill_bytes_is_refused_before_the_body) {
  runtime_config small;
  small.max_spill_bytes = 8u << 20;
  runtime rt{*sys_, small};
  accepted acc;
  auto l = rt.listen_tcp("127.0.0.1", 0, acc.handler(), spilling());
  ASSERT_TRUE(l);
  auto client = rt.connect_tcp("127.0.0.1", l->port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(acc.wait(1));
  events ev{*sys_};
  client->subscribe(ev.handle());
  auto id = client->send(outgoing_message::from_bytes("too-big", pattern(32u << 20, 4)));
  ASSERT_TRUE(id);
  auto outcome = ev.outcome(*id);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, std::error_code{wire_errc::storage_full});
  EXPECT_LT(client->stats().session.bytes_out, 16u << 20) << "most of the body went out";
  std::lock_guard<std::mutex> guard{acc.mtx};
  auto m = acc.conns.front().receive(10s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().reason, std::error_code{wire_errc::storage_full});
}

namespace {

runtime_config two_connections() {
  runtime_config c;
  c.max_connections = 2;
  return c;
}

class connection_bound_test : public runtime_fixture {
 protected:
  connection_bound_test() : runtime_fixture(two_connections()) {}
};

}  // namespace

TEST_F(connection_bound_test, connections_beyond_the_bound_are_closed_at_once) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(l);
  const int first = raw_connect(l->port());
  const int second = raw_connect(l->port());
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  ASSERT_TRUE(acc.wait(2));
  const int third = raw_connect(l->port());
  ASSERT_GE(third, 0);
  // The server closes the third at once: its read ends (instead of waiting for a HELLO).
  char byte = 0;
  const auto n = ::recv(third, &byte, 1, 0);
  EXPECT_LE(n, 0);
  EXPECT_EQ(l->refused(), 1u);
  EXPECT_EQ(l->accepted(), 2u);
  EXPECT_EQ(rt_->connections(), 2u);
  // The two it holds are connections as any: they greet with HELLO.
  EXPECT_EQ(::recv(first, &byte, 1, 0), 1);
  for (int fd : {first, second, third}) ::close(fd);
}

namespace {

class delivery_budget_test : public runtime_fixture {
 protected:
  /// A server that lets its application hold 64 KiB of deliveries (256 empty messages).
  static connection_config small_budget() {
    connection_config c;
    c.delivery_budget = 64u << 10;
    c.read_size = 16u << 10;
    return c;
  }

  /// 20,000 empty messages from `client`, which fit the initial connection credit (32 MiB) many
  /// times over: credit alone does not bound what they cost. The server stops reading once its
  /// application holds more than the budget, then catches up and gets every one.
  static void flood_and_catch_up(connection& client, connection& server) {
    constexpr std::size_t count = 20'000;
    std::vector<outgoing_message> batch;
    for (std::size_t i = 0; i < count; ++i) batch.push_back(outgoing_message::from_bytes("e", {}));
    ASSERT_TRUE(client.send_batch(std::move(batch)));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server.stats().session.input_pauses == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    const auto held = server.stats().session;
    ASSERT_EQ(held.input_pauses, 1u);
    // At most the budget plus what one read of 16 KiB holds (frames of 32 + 2 bytes at least; a
    // reader thread has up to reads_in_flight reads on their way).
    const std::uint64_t one_read = (16u << 10) / 34 * session::message_overhead;
    const auto reads = connection_config{}.reads_in_flight;
    EXPECT_LE(held.unacknowledged, small_budget().delivery_budget + reads * one_read);
    EXPECT_LT(held.messages_received, count);
    for (std::size_t i = 0; i < count; ++i) {
      auto m = server.receive(10s);
      ASSERT_TRUE(m) << "message " << i << ": " << m.error().reason.message();
      EXPECT_EQ(m->meta.route, "e");
      EXPECT_EQ(m->body.size(), 0u);
    }
    const auto after = server.stats().session;
    EXPECT_EQ(after.messages_received, count);
    EXPECT_LE(after.unacknowledged_peak, small_budget().delivery_budget + reads * one_read)
        << "the server read on while its application held the budget";
    EXPECT_TRUE(server.stats().open);
  }
};

/// A pipe transport (blocking user functions: a reader thread of its own) over one end of a
/// socket pair, which it owns.
std::unique_ptr<transports::byte_stream> socket_pipe(int fd) {
  auto sock = std::shared_ptr<int>(new int{fd}, [](int* f) {
    ::close(*f);
    delete f;
  });
  transports::pipe_functions fns;
  fns.send = [sock](const std::uint8_t* data, std::size_t size) -> long {
    return static_cast<long>(::send(*sock, data, size, MSG_NOSIGNAL));
  };
  fns.recv = [sock](std::uint8_t* buf, std::size_t max) -> long {
    return static_cast<long>(::recv(*sock, buf, max, 0));
  };
  fns.close = [sock] { ::shutdown(*sock, SHUT_RDWR); };
  auto stream = transports::make_pipe_stream(std::move(fns));
  return stream ? std::move(*stream) : nullptr;
}

}  // namespace

TEST_F(delivery_budget_test, empty_messages_nobody_receives_stop_the_event_loop_reading) {
  auto [client, server] = tcp_pair({}, small_budget());
  flood_and_catch_up(client, server);
}

TEST_F(delivery_budget_test, empty_messages_nobody_receives_stop_a_reader_thread) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto server_stream = socket_pipe(fds[1]);
  ASSERT_TRUE(server_stream);
  auto client_stream =
      transports::fd_stream::adopt(fds[0], transports::fd_stream::kind::socket, {}, "client");
  ASSERT_TRUE(client_stream);
  auto client = rt_->adopt(std::move(*client_stream));
  auto server = rt_->adopt(std::move(server_stream), small_budget());
  flood_and_catch_up(client, server);
}

TEST_F(connection_bound_test, descriptor_exhaustion_fails_the_accept_not_the_process) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check probes the memory it checks through a pipe of its own; with no
  // descriptor left it cannot, and reports the virtual calls made meanwhile as errors.
  GTEST_SKIP() << "the sanitizer runtime needs descriptors of its own";
#endif
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(l);
  // The client sockets exist before the limit drops; connecting them needs no descriptor.
  const int first = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int second = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // No descriptor number is below a limit of zero: the server's accept cannot get one,
  // whatever other threads open or close meanwhile.
  rlimit none = old;
  none.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  const bool connected = connect_loopback(first, l->port()) && connect_loopback(second, l->port());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (connected && l->failures() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  const auto failed = l->failures();
  const auto why = l->last_error();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(connected);
  EXPECT_GE(failed, 1u);
  EXPECT_EQ(why, std::error_code(EMFILE, std::system_category())) << why.message();
  // With descriptors back, the acceptor goes on by itself: both connections are served.
  ASSERT_TRUE(acc.wait(2));
  char byte = 0;
  EXPECT_EQ(::recv(first, &byte, 1, 0), 1);  // the server's HELLO
  EXPECT_EQ(::recv(second, &byte, 1, 0), 1);
  for (int fd : {first, second}) ::close(fd);
}
