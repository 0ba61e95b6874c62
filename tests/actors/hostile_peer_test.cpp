// A server under a peer that tries to exhaust it, through the public API on real threads: every
// bound holds (the test reads the counter behind it), the peer gets a typed failure, and the
// connection, or another one, goes on working.

#include <netcore/actors/runtime.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
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
