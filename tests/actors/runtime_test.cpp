// The runtime through its public API on real threads: every new-user failure of the old runtime
// as a regression test (a large message with the default configuration, close-then-return, a pipe
// without a close function, failures that must reach receive()), transport errors that name their
// cause, servers that attach handlers to accepted connections, and threads that do not grow with
// the number of connections.

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/listener.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "runtime_support.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::actors;
using namespace std::chrono_literals;
using namespace netcore::actors::test;

namespace {

class runtime_test : public runtime_fixture {};

}  // namespace

TEST_F(runtime_test, a_200_mib_message_arrives_with_the_default_configuration) {
  auto [client, server] = tcp_pair();
  const auto body = pattern(200u << 20, 3);
  ASSERT_TRUE(client.send(outgoing_message::from_bytes("big", body)));
  auto m = server.receive(60s);
  ASSERT_TRUE(m) << m.error().reason.message();
  EXPECT_EQ(m->meta.route, "big");
  ASSERT_TRUE(m->body.is_file());  // spilled to the runtime's private directory
  EXPECT_EQ(m->body.path().rfind(rt_->spill_directory(), 0), 0u);
  auto back = m->body.read_all();
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == body);
  m->body.remove_file();
}

TEST_F(runtime_test, close_then_return_delivers_everything) {
  auto [client, server] = tcp_pair();
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(
        client.send(outgoing_message::from_bytes("m" + std::to_string(i), pattern(1000, 1))));
  ASSERT_TRUE(client.send(outgoing_message::from_bytes("last", pattern(20u << 20, 2))));
  auto closed = client.close();  // returns once everything was written and both sides drained
  EXPECT_TRUE(closed.clean()) << closed.reason.message();
  for (int i = 0; i < 101; ++i) {
    auto m = server.receive(20s);
    ASSERT_TRUE(m) << "message " << i << ": " << m.error().reason.message();
    m->body.remove_file();
  }
  auto end = server.receive(5s);
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().reason, std::error_code{runtime_errc::closed});  // a clean end
}

TEST_F(runtime_test, send_and_send_batch_from_one_thread_keep_their_order) {
  auto [client, server] = tcp_pair();
  int next = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i)
      ASSERT_TRUE(client.send(outgoing_message::from_text(std::to_string(next++), "s")));
    std::vector<outgoing_message> batch;
    for (int i = 0; i < 5; ++i)
      batch.push_back(outgoing_message::from_text(std::to_string(next++), "b"));
    ASSERT_TRUE(client.send_batch(std::move(batch)));
    ASSERT_TRUE(client.try_send(outgoing_message::from_text(std::to_string(next++), "t")));
  }
  for (int i = 0; i < next; ++i) {
    auto m = server.receive(10s);
    ASSERT_TRUE(m) << m.error().reason.message();
    ASSERT_EQ(m->meta.route, std::to_string(i));
  }
}

TEST_F(runtime_test, a_send_after_an_abort_fails_with_a_typed_error) {
  auto [client, server] = tcp_pair();
  events ev{*sys_};
  client.subscribe(ev.handle());
  client.abort();
  // Refused at once (the connection is gone), or queued and then reported as failed: never lost.
  auto id = client.send(outgoing_message::from_text("late", "x"));
  if (id) {
    auto outcome = ev.outcome(*id);
    ASSERT_TRUE(outcome) << "no outcome for a message sent after abort()";
    EXPECT_TRUE(*outcome) << "a message sent after abort() was reported as sent";
  } else {
    EXPECT_EQ(id.error(), std::error_code{runtime_errc::closed});
  }
}

TEST_F(runtime_test, destroying_a_connection_drains_it_like_close) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(l);
  {
    auto c = rt_->connect_tcp("127.0.0.1", l->port());
    ASSERT_TRUE(c);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(c->send(outgoing_message::from_text("m", "x")));
    ASSERT_TRUE(c->send(outgoing_message::from_bytes("big", pattern(8u << 20, 4))));
  }  // no close(): the destructor drains
  ASSERT_TRUE(acc.wait(1));
  for (int i = 0; i < 51; ++i) {
    auto m = acc.conns.front().receive(20s);
    ASSERT_TRUE(m) << "message " << i << ": " << m.error().reason.message();
    m->body.remove_file();
  }
}

TEST_F(runtime_test, a_pipe_without_a_close_function_is_refused_at_construction) {
  transports::pipe_functions fns;
  fns.send = [](const std::uint8_t*, std::size_t n) -> long { return static_cast<long>(n); };
  fns.recv = [](std::uint8_t*, std::size_t) -> long { return 0; };
  auto c = rt_->open_pipe(fns);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::error_code{transport_errc::invalid_argument});
}

TEST_F(runtime_test, an_incoming_message_that_fails_reaches_receive_as_a_typed_failure) {
  connection_config server;
  server.spill_to_files = false;
  server.limits.max_buffered_bytes = 1u << 20;  // memory only, and only 1 MiB of it
  auto [client, srv] = tcp_pair({}, server);
  auto id = client.send(outgoing_message::from_bytes("too-big-for-memory", pattern(2u << 20, 5)));
  ASSERT_TRUE(id);
  auto m = srv.receive(10s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().id, *id);
  EXPECT_EQ(m.error().reason, std::error_code{wire_errc::memory_limit});
  // The connection goes on.
  ASSERT_TRUE(client.send(outgoing_message::from_text("after", "fine")));
  auto next = srv.receive(10s);
  ASSERT_TRUE(next) << next.error().reason.message();
  EXPECT_EQ(next->meta.route, "after");
}

TEST_F(runtime_test, a_message_above_the_peers_limit_is_refused_before_its_body_is_sent) {
  connection_config server;
  server.limits.max_message_size = 1u << 20;
  auto [client, srv] = tcp_pair({}, server);
  events ev{*sys_};
  client.subscribe(ev.handle());
  ASSERT_TRUE(client.send(outgoing_message::from_text("hello", "first")));  // the handshake is done
  ASSERT_TRUE(srv.receive(10s));
  auto id = client.send(outgoing_message::from_bytes("huge", pattern(8u << 20, 6)));
  ASSERT_TRUE(id);
  auto outcome = ev.outcome(*id);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, std::error_code{wire_errc::message_too_large});
  EXPECT_LT(client.stats().session.bytes_out, 1u << 20) << "the body went out";
}

TEST_F(runtime_test, transport_errors_name_their_cause) {
  std::uint16_t closed_port = 0;
  {
    auto l = transports::listener::tcp("127.0.0.1", 0);
    ASSERT_TRUE(l);
    closed_port = (*l)->port();
  }
  auto refused = rt_->connect_tcp("127.0.0.1", closed_port);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), std::errc::connection_refused) << refused.error().message();
  auto unknown = rt_->connect_tcp("no-such-host.invalid", 4000);
  EXPECT_EQ(unknown.error(), std::error_code{transport_errc::resolution_failed});
  auto missing = rt_->connect_unix("/nonexistent/netcore.sock");
  EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
  auto tty = rt_->open_serial("/nonexistent/ttyNETCORE");
  EXPECT_EQ(tty.error(), std::errc::no_such_file_or_directory);
  auto busy = transports::listener::tcp("127.0.0.1", 0);
  ASSERT_TRUE(busy);
  auto again = rt_->listen_tcp("127.0.0.1", (*busy)->port(), [](connection) {});
  EXPECT_EQ(again.error(), std::errc::address_in_use);
}

TEST_F(runtime_test, threads_do_not_grow_with_the_number_of_connections) {
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(l);
  std::vector<connection> clients;
  auto first = rt_->connect_tcp("127.0.0.1", l->port());
  ASSERT_TRUE(first);
  clients.push_back(std::move(*first));
  ASSERT_TRUE(acc.wait(1));
  const auto with_one = thread_count();
  for (int i = 0; i < 200; ++i) {
    auto c = rt_->connect_tcp("127.0.0.1", l->port());
    ASSERT_TRUE(c) << c.error().message();
    clients.push_back(std::move(*c));
  }
  ASSERT_TRUE(acc.wait(201));
  // Every connection works: one round trip each way on each.
  for (auto& c : clients) ASSERT_TRUE(c.send(outgoing_message::from_text("ping", "x")));
  for (auto& s : acc.conns) {
    auto m = s.receive(10s);
    ASSERT_TRUE(m) << m.error().reason.message();
  }
  EXPECT_EQ(thread_count(), with_one) << "threads grew with connections";
  EXPECT_EQ(rt_->io_threads(), 1u);
  EXPECT_GE(rt_->connections(), 402u);
  for (auto& c : clients) c.abort();
  for (auto& s : acc.conns) s.abort();
}

TEST(runtime_files, file_bodies_are_read_on_the_configured_number_of_file_threads) {
  caf::actor_system_config cfg;
  apply(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  runtime_config rc;
  rc.file_threads = 3;
  runtime rt{sys, rc};
  std::size_t named = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string comm;
      if (FILE* f =
              std::fopen(("/proc/self/task/" + std::string(e->d_name) + "/comm").c_str(), "r")) {
        char buf[32] = {};
        if (std::fgets(buf, sizeof buf, f)) comm = buf;
        std::fclose(f);
      }
      if (comm.rfind("netcore-files", 0) == 0) ++named;
    }
    ::closedir(d);
  }
  EXPECT_EQ(named, 3u);

  // Three connections, each sending a file body: every one arrives intact.
  char dir_template[] = "/tmp/netcore-files-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/body";
  const auto body = pattern(300u << 10, 9);
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(body.data(), 1, body.size(), f), body.size());
    std::fclose(f);
  }
  accepted acc;
  auto l = rt.listen_tcp("127.0.0.1", 0, acc.handler());
  ASSERT_TRUE(l);
  std::vector<connection> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = rt.connect_tcp("127.0.0.1", l->port());
    ASSERT_TRUE(c);
    clients.push_back(std::move(*c));
  }
  ASSERT_TRUE(acc.wait(3));
  for (auto& c : clients) ASSERT_TRUE(c.send(outgoing_message::from_file("f", path)));
  for (auto& s : acc.conns) {
    auto m = s.receive(10s);
    ASSERT_TRUE(m) << m.error().reason.message();
    auto back = m->body.read_all();
    ASSERT_TRUE(back);
    EXPECT_TRUE(*back == body);
    if (m->body.is_file()) m->body.remove_file();
  }
  for (auto& c : clients) c.abort();
  for (auto& s : acc.conns) s.abort();
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

TEST_F(runtime_test, a_server_attaches_handlers_to_the_connections_it_accepts) {
  // Each accepted connection gets an echo actor as its delivery sink, attached in the handler.
  std::vector<caf::actor> echoes;
  std::mutex mtx;
  accepted acc;
  auto l = rt_->listen_tcp("127.0.0.1", 0, [&](connection c) {
    auto conn = c.actor();
    auto echo = sys_->spawn([conn](delivery_sink::pointer self) -> delivery_sink::behavior_type {
      return {[self, conn](deliver_atom, delivery& d) {
        for (auto& m : d.messages)
          self->send(conn, send_atom::value, std::uint64_t{0},
                     outgoing_message::from_bytes("echo/" + m.meta.route, m.body.bytes()));
        return caf::ok_atom::value;
      }};
    });
    c.attach(echo);
    {
      std::lock_guard<std::mutex> guard{mtx};
      echoes.push_back(caf::actor_cast<caf::actor>(echo));
    }
    acc.handler()(std::move(c));
  });
  ASSERT_TRUE(l);
  auto client = rt_->connect_tcp("127.0.0.1", l->port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(outgoing_message::from_text("hi", "there")));
  auto reply = client->receive(10s);
  ASSERT_TRUE(reply) << reply.error().reason.message();
  EXPECT_EQ(reply->meta.route, "echo/hi");
  // receive() is not for connections with a sink.
  ASSERT_TRUE(acc.wait(1));
  EXPECT_EQ(acc.conns.front().receive(10ms).error().reason,
            std::error_code{runtime_errc::invalid_argument});
  for (auto& e : echoes) caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
}

TEST_F(runtime_test, the_connection_actor_can_be_monitored) {
  auto [client, server] = tcp_pair();
  caf::scoped_actor self{*sys_};
  self->monitor(client.actor());
  client.close();
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  EXPECT_TRUE(down);
}

TEST_F(runtime_test, stats_come_in_one_call_and_track_the_traffic) {
  auto [client, server] = tcp_pair();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.send(outgoing_message::from_text("s", "12345")));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(server.receive(10s));
  auto st = server.stats();
  EXPECT_TRUE(st.open);
  EXPECT_EQ(st.session.messages_received, 10u);
  EXPECT_GT(st.session.bytes_in, 10u * 5);
  EXPECT_EQ(st.transport.rfind("tcp 127.0.0.1:", 0), 0u);
}

TEST_F(runtime_test, the_runtime_removes_its_private_spill_directory) {
  const std::string dir = rt_->spill_directory();
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  rt_.reset();
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
}

TEST_F(runtime_test, close_on_the_second_end_reports_the_clean_end_after_the_first) {
  auto [client, server] = tcp_pair();
  ASSERT_TRUE(client.send(outgoing_message::from_text("x", "y")));
  ASSERT_TRUE(server.receive(10s));
  caf::scoped_actor watcher{*sys_};
  watcher->monitor(server.actor());
  EXPECT_TRUE(client.close().clean());
  // The server side ends with the client's close: wait until its actor is gone.
  bool down = false;
  watcher->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  ASSERT_TRUE(down);
  auto second = server.close();
  EXPECT_TRUE(second.clean()) << second.reason.message();
}

TEST_F(runtime_test, a_sink_subscribed_after_the_connection_is_gone_still_hears_its_end) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  ::close(fds[1]);  // the peer is gone before the connection starts: it ends at once
  auto stream = transports::fd_stream::adopt(fds[0], transports::fd_stream::kind::socket, {}, "x");
  ASSERT_TRUE(stream);
  auto c = rt_->adopt(std::move(*stream));
  // Wait until its actor has quit: a subscription now can no longer reach its mailbox.
  caf::scoped_actor watcher{*sys_};
  watcher->monitor(c.actor());
  bool down = false;
  watcher->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  ASSERT_TRUE(down);
  events ev{*sys_};
  c.subscribe(ev.handle());
  c.subscribe(ev.handle());  // twice: told once
  std::size_t told = 0;
  for (bool more = true; more;)
    ev.self->receive(
        [&](closed_atom, connection_closed& closed) {
          ++told;
          ev.closed = closed;
        },
        caf::after(told == 0 ? 10s : 200ms) >> [&] { more = false; });
  ASSERT_EQ(told, 1u);
  EXPECT_FALSE(ev.closed->clean());
  EXPECT_EQ(ev.closed->reason, c.close().reason);
}
