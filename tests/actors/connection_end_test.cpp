// A runtime with an actor system of its own, and waiting for a connection's end: wait_closed()
// returns why the connection ended, for an end by the peer, by this side and one that came
// before the wait, and nothing when the connection still runs.
// Covers runtime::runtime(runtime_config) in actors/src/runtime.cpp and connection::wait_closed()
// in actors/src/connection.cpp.

#include <netcore/actors/errors.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/transports/fd_stream.hpp>

#include <caf/scheduler/abstract_coordinator.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace netcore;
using namespace std::chrono_literals;

namespace {

/// Two connections on the two ends of a socket pair, in a runtime with its own actor system.
class connection_end_test : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    using transports::fd_stream;
    auto a = fd_stream::adopt(fds[0], fd_stream::kind::socket, {}, "a");
    auto b = fd_stream::adopt(fds[1], fd_stream::kind::socket, {}, "b");
    ASSERT_TRUE(a && b);
    a_ = rt_.adopt(std::move(*a));
    b_ = rt_.adopt(std::move(*b));
  }
  actors::runtime rt_;  // owns its actor system
  actors::connection a_, b_;
};

}  // namespace

TEST_F(connection_end_test, the_runtime_runs_connections_on_an_actor_system_of_its_own) {
  ASSERT_TRUE(a_.send(actors::outgoing_message::from_text("hello", "there")));
  auto m = b_.receive(10s);
  ASSERT_TRUE(m) << m.error().reason.message();
  EXPECT_EQ(m->meta.route, "hello");
  EXPECT_GE(rt_.system().scheduler().num_workers(), 1u);
}

TEST_F(connection_end_test, a_running_connection_is_not_ended) {
  EXPECT_FALSE(a_.wait_closed(10ms));
}

TEST_F(connection_end_test, the_wait_returns_when_the_peer_ends_the_connection) {
  std::thread closer{[this] { b_.close(); }};
  auto why = a_.wait_closed(20s);
  closer.join();
  ASSERT_TRUE(why);
  EXPECT_FALSE(why->reason) << why->reason.message();  // a clean end
}

TEST_F(connection_end_test, an_end_before_the_wait_is_returned_at_once) {
  // Both HELLOs exchanged first: the GOAWAY then carries its text to an open session.
  ASSERT_TRUE(a_.send(actors::outgoing_message::from_text("hello", "there")));
  ASSERT_TRUE(b_.receive(10s));
  a_.abort(protocol::errc::refused, "not today");
  auto here = a_.wait_closed(20s);
  ASSERT_TRUE(here);
  auto there = b_.wait_closed(20s);
  ASSERT_TRUE(there);
  EXPECT_EQ(there->peer_text, "not today");
  // Asked again, the same answer.
  EXPECT_TRUE(a_.wait_closed(0ms));
  actors::connection moved = std::move(a_);
  EXPECT_EQ(a_.wait_closed(0ms)->reason, std::error_code{runtime_errc::closed});
}
