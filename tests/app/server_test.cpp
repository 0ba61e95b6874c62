// Servers over real connections (TCP and unix sockets on this machine): several addresses on one
// route table, the connection limit with its reason, hooks and per-connection state, the idle
// timeout, admission budgets, many clients at once, hostile clients beside good ones, and the
// two-phase shutdown.
// Covers app/src/server.cpp, app/src/server_actor.cpp and the admission budgets of
// app/src/dispatcher.cpp.

#include <netcore/actors/errors.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/endpoint.hpp>
#include <netcore/app/server.hpp>

#include "endpoint_support.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

actors::outgoing_message text_message(std::string route, std::string_view text) {
  return actors::outgoing_message::from_text(std::move(route), text);
}

/// Waits for `n` ends heard by a close hook.
struct ends {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::pair<peer_info, actors::connection_closed>> seen;

  std::function<void(const peer_info&, const actors::connection_closed&)> hook() {
    return [this](const peer_info& p, const actors::connection_closed& c) {
      std::lock_guard<std::mutex> guard{m};
      seen.emplace_back(p, c);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{m};
    return cv.wait_for(guard, timeout, [&] { return seen.size() >= n; });
  }
};

class server_test : public ::testing::Test {
 public:
  server_test() {
    actors::apply(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    rt_ = std::make_unique<actors::runtime>(*sys_);
    ep_ = std::make_unique<endpoint>(*rt_);
    client_ = std::make_unique<endpoint>(*rt_);
    EXPECT_FALSE(ep_->handle("echo", [](const request& r) { return response::text(r.text()); }));
  }
  ~server_test() override {
    server_.reset();
    clients_.clear();
    client_.reset();
    ep_.reset();
    rt_.reset();
    sys_.reset();
  }

  void start(server_config cfg = {}) {
    server_ = std::make_unique<server>(*rt_, *ep_, std::move(cfg));
    auto p = server_->listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(p) << p.error().message();
    port_ = *p;
  }
  actors::connection& connect() {
    auto c = rt_->connect_tcp("127.0.0.1", port_);
    EXPECT_TRUE(c) << c.error().message();
    clients_.push_back(std::make_unique<actors::connection>(std::move(*c)));
    return *clients_.back();
  }
  reply call(actors::connection& c, std::string route, std::string_view body,
             std::chrono::milliseconds timeout = 10s) {
    auto f = client_->call(c, text_message(std::move(route), body), timeout);
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready);
    return f.get();
  }
  /// The end of `c`, as a subscribed event sink hears it (also after the end).
  actors::connection_closed end_of(actors::connection& c) {
    auto p = std::make_shared<std::promise<actors::connection_closed>>();
    auto f = p->get_future();
    auto sink = sys_->spawn([p](caf::event_based_actor* self) -> caf::behavior {
      return {
          [](actors::outcome_atom, actors::send_outcome&) {},
          [](actors::progress_atom, actors::send_progress&) {},
          [p, self](actors::closed_atom, actors::connection_closed& x) {
            p->set_value(x);
            self->quit();
          },
      };
    });
    c.subscribe(caf::actor_cast<actors::event_sink>(sink));
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready) << "no end";
    return f.get();
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<actors::runtime> rt_;
  std::unique_ptr<endpoint> ep_, client_;
  std::unique_ptr<server> server_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<actors::connection>> clients_;
  ends closed_;  // outlives the server, whose shutdown the close hook hears
};

}  // namespace

TEST_F(server_test, one_route_table_on_a_tcp_port_and_a_unix_socket) {
  start();
  const std::string path = ::testing::TempDir() + "netcore-server-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  ASSERT_FALSE(server_->listen_unix(path));
  auto u = rt_->connect_unix(path);
  ASSERT_TRUE(u) << u.error().message();
  auto& t = connect();
  auto a = call(t, "echo", "over tcp");
  auto b = call(*u, "echo", "over unix");
  ASSERT_TRUE(a.ok()) << a.reason;
  ASSERT_TRUE(b.ok()) << b.reason;
  EXPECT_EQ(a.text(), "over tcp");
  EXPECT_EQ(b.text(), "over unix");
  auto st = server_->stats();
  EXPECT_EQ(st.accepted, 2u);
  EXPECT_EQ(st.open, 2u);
  EXPECT_EQ(st.listeners, 2u);
  u->close();
  ::unlink(path.c_str());
}

TEST_F(server_test, a_client_beyond_max_connections_is_refused_with_a_reason) {
  server_config cfg;
  cfg.max_connections = 2;
  start(cfg);
  auto& a = connect();
  auto& b = connect();
  ASSERT_TRUE(call(a, "echo", "a").ok());
  ASSERT_TRUE(call(b, "echo", "b").ok());
  auto& third = connect();
  auto r = call(third, "echo", "c");
  EXPECT_EQ(r.code, status::unavailable);
  // The refusal is on the connection itself: a GOAWAY `refused` with the reason in words.
  auto closed = end_of(third);
  EXPECT_EQ(closed.reason, std::error_code{wire_errc::refused}) << closed.reason.message();
  EXPECT_EQ(closed.peer_text, "the server holds its maximum of 2 connections");
  auto st = server_->stats();
  EXPECT_EQ(st.refused, 1u);
  EXPECT_EQ(st.open, 2u);
  // The others are not disturbed.
  EXPECT_TRUE(call(a, "echo", "again").ok());
}

TEST_F(server_test, the_refusal_text_reaches_the_client) {
  server_config cfg;
  cfg.on_open = [](const peer_info&) { return admission::refuse("no visitors today"); };
  start(cfg);
  auto seen = end_of(connect());
  EXPECT_EQ(seen.reason, std::error_code{wire_errc::refused});
  EXPECT_EQ(seen.peer_text, "no visitors today");
  EXPECT_EQ(server_->stats().refused, 1u);
}

TEST_F(server_test, the_open_hook_gives_each_connection_its_state_and_the_close_hook_hears_it) {
  struct session_data {
    int number = 0;
    std::string transport;
  };
  std::atomic<int> next{0};
  server_config cfg;
  cfg.on_open = [&](const peer_info& p) {
    EXPECT_EQ(p.listener.rfind("tcp 127.0.0.1:", 0), 0u) << p.listener;
    return admission::accept(session_data{++next, p.transport});
  };
  cfg.on_close = closed_.hook();
  start(cfg);
  ASSERT_FALSE(ep_->handle("whoami", [](const request& r) {
    auto* s = r.state<session_data>();
    if (!s) return response::error(status::internal, "no state");
    return response::text(std::to_string(s->number));
  }));
  auto& a = connect();
  auto ra = call(a, "whoami", "");
  auto& b = connect();
  auto rb = call(b, "whoami", "");
  ASSERT_TRUE(ra.ok()) << ra.reason;
  ASSERT_TRUE(rb.ok()) << rb.reason;
  EXPECT_NE(ra.text(), rb.text());
  EXPECT_EQ(call(a, "whoami", "").text(), ra.text());  // the same state for every request
  a.close();
  ASSERT_TRUE(closed_.wait(1));
  EXPECT_TRUE(closed_.seen[0].second.clean()) << closed_.seen[0].second.reason.message();
  EXPECT_EQ(server_->stats().closed, 1u);
  EXPECT_TRUE(call(b, "whoami", "").ok());
}

TEST_F(server_test, a_throwing_open_hook_refuses_only_that_connection) {
  std::atomic<int> n{0};
  server_config cfg;
  cfg.on_open = [&](const peer_info&) {
    if (++n == 1) throw std::runtime_error("hook failed");
    return admission::accept();
  };
  start(cfg);
  auto& first = connect();
  EXPECT_EQ(call(first, "echo", "x").code, status::unavailable);
  auto& second = connect();
  EXPECT_TRUE(call(second, "echo", "y").ok());
  EXPECT_EQ(server_->stats().refused, 1u);
}

TEST_F(server_test, an_idle_connection_is_closed_gracefully) {
  server_config cfg;
  cfg.idle_timeout = 100ms;
  cfg.on_close = closed_.hook();
  start(cfg);
  auto& idle = connect();
  ASSERT_TRUE(call(idle, "echo", "once").ok());
  ASSERT_TRUE(closed_.wait(1));
  EXPECT_TRUE(closed_.seen[0].second.clean());
  EXPECT_EQ(server_->stats().idle_closed, 1u);
  EXPECT_TRUE(end_of(idle).clean()) << "closed gracefully";
}

TEST_F(server_test, a_call_being_answered_keeps_its_connection_from_the_idle_timeout) {
  test::held_calls held;
  ASSERT_FALSE(ep_->handle_async("slow", held.keep()));
  server_config cfg;
  cfg.idle_timeout = 50ms;
  cfg.on_close = closed_.hook();
  start(cfg);
  auto& c = connect();
  auto f = client_->call(c, text_message("slow", ""), 30s);
  ASSERT_TRUE(held.wait(1));
  // Many idle timeouts pass while the handler holds the call; the connection stays.
  EXPECT_FALSE(closed_.wait(1, 500ms));
  EXPECT_TRUE(held.at(0).reply(response::text("done")));
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  held.clear();
  ASSERT_TRUE(closed_.wait(1));  // and once it is answered, idleness closes it
}

TEST_F(server_test, a_budget_of_requests_being_answered_holds_the_rest_back) {
  ep_ = std::make_unique<endpoint>(*rt_, [] {
    endpoint_config e;
    e.max_active_bytes = 2 * (512 + 256);  // two 512 B requests (each + message_overhead)
    return e;
  }());
  test::held_calls held;
  ASSERT_FALSE(ep_->handle_async("hold", held.keep()));
  start();
  auto& c = connect();
  std::vector<std::future<reply>> replies;
  for (int i = 0; i < 6; ++i)
    replies.push_back(client_->call(c, text_message("hold", std::string(512, 'x')), 30s));
  ASSERT_TRUE(held.wait(2));
  // The other four wait for admission, not in handlers.
  endpoint_stats st;
  for (int i = 0; i < 1000 && (st = ep_->stats()).waiting_requests < 4; ++i)
    std::this_thread::yield();
  EXPECT_EQ(st.waiting_requests, 4u);
  EXPECT_EQ(st.active_calls, 2u);
  EXPECT_FALSE(held.wait(3, 0ms));
  // Answering makes room: every call is answered in the end.
  for (std::size_t answered = 0; answered < 6; ++answered) {
    ASSERT_TRUE(held.wait(answered + 1));
    EXPECT_TRUE(held.at(answered).reply(response::text("ok")));
  }
  for (auto& f : replies) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  held.clear();
}

TEST_F(server_test, a_request_whose_body_went_to_a_file_holds_no_memory_budget) {
  ep_ = std::make_unique<endpoint>(*rt_, [] {
    endpoint_config e;
    e.max_active_bytes = 512 + 256;  // one 512 B request in memory
    return e;
  }());
  test::held_calls held;
  ASSERT_FALSE(ep_->handle_async("hold", held.keep()));
  server_config cfg;
  cfg.connection.storage.memory_threshold = 4096;  // larger bodies go to files
  start(cfg);
  auto& c = connect();
  // Two 64 KiB requests spilled to files (in memory, the first would fill the budget and hold the
  // second back), then one in memory: all three run at once.
  std::vector<std::future<reply>> replies;
  for (int i = 0; i < 2; ++i)
    replies.push_back(client_->call(c, text_message("hold", std::string(64 << 10, 'f')), 30s));
  ASSERT_TRUE(held.wait(2));
  replies.push_back(client_->call(c, text_message("hold", std::string(512, 'm')), 30s));
  ASSERT_TRUE(held.wait(3));
  EXPECT_EQ(ep_->stats().waiting_requests, 0u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(held.at(i).reply(response::text("ok")));
  for (auto& f : replies) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  held.clear();
}

TEST_F(server_test, a_request_withdrawn_while_waiting_for_admission_never_starts) {
  ep_ = std::make_unique<endpoint>(*rt_, [] {
    endpoint_config e;
    e.max_active_bytes = 512 + 256;  // one 512 B request
    return e;
  }());
  test::held_calls held;
  ASSERT_FALSE(ep_->handle_async("hold", held.keep()));
  start();
  auto& c = connect();
  auto first = client_->call(c, text_message("hold", std::string(512, 'x')), 30s);
  ASSERT_TRUE(held.wait(1));
  auto second = client_->call(c, text_message("hold", std::string(512, 'y')), 100ms);
  ASSERT_EQ(second.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(second.get().code, status::deadline_exceeded);
  // The withdrawal reaches the waiting request: nothing waits any more.
  endpoint_stats st = ep_->stats();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while ((st = ep_->stats()).waiting_requests != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(st.waiting_requests, 0u);
  EXPECT_TRUE(held.at(0).reply(response::text("ok")));
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(ep_->stats().active_calls, 0u);  // the withdrawn one was never started
  held.clear();
}

TEST_F(server_test, a_hundred_clients_with_a_hundred_calls_each_get_their_own_answers) {
  start();
  ASSERT_FALSE(ep_->handle("tag", [](const request& r) { return response::text(r.text() + "!"); }));
  constexpr int clients = 100, calls = 100;
  for (int i = 0; i < clients; ++i) connect();
  std::vector<std::future<reply>> replies;
  replies.reserve(clients * calls);
  for (int j = 0; j < calls; ++j)
    for (int i = 0; i < clients; ++i)
      replies.push_back(
          client_->call(*clients_[i], text_message("tag", std::to_string(i * calls + j)), 60s));
  for (int j = 0; j < calls; ++j)
    for (int i = 0; i < clients; ++i) {
      auto& f = replies[j * clients + i];
      ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
      auto r = f.get();
      ASSERT_TRUE(r.ok()) << r.reason;
      ASSERT_EQ(r.text(), std::to_string(i * calls + j) + "!");
    }
  EXPECT_EQ(server_->stats().open, static_cast<std::uint64_t>(clients));
}

TEST_F(server_test, clients_that_send_garbage_or_stall_do_not_disturb_the_others) {
  server_config cfg;
  cfg.on_close = closed_.hook();
  // Junk is skipped like line noise, a stalled peer sends nothing more: neither sends HELLO.
  cfg.connection.handshake_timeout = 300ms;
  start(cfg);
  auto raw = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    return fd;
  };
  const int garbage = raw();
  const int stalled = raw();
  const std::string junk(4096, '\x5a');
  ASSERT_EQ(::write(garbage, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  ASSERT_EQ(::write(stalled, "NC", 2), 2);  // the start of a frame header, then nothing
  auto& good = connect();
  for (int i = 0; i < 50; ++i) {
    auto r = call(good, "echo", std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.reason;
    ASSERT_EQ(r.text(), std::to_string(i));
  }
  ASSERT_TRUE(closed_.wait(2));  // both ended, with a typed reason
  for (auto& [p, c] : closed_.seen)
    EXPECT_EQ(c.reason, std::error_code{runtime_errc::handshake_timeout}) << c.reason.message();

  EXPECT_TRUE(call(good, "echo", "still here").ok());
  ::close(garbage);
  ::close(stalled);
}

TEST_F(server_test, shutdown_lets_running_calls_finish_then_closes_every_connection) {
  test::held_calls held;
  ASSERT_FALSE(ep_->handle_async("slow", held.keep()));
  server_config cfg;
  cfg.on_close = closed_.hook();
  start(cfg);
  auto& a = connect();
  auto& b = connect();
  ASSERT_TRUE(call(b, "echo", "b").ok());
  auto f = client_->call(a, text_message("slow", ""), 30s);
  ASSERT_TRUE(held.wait(1));
  std::thread answer{[&] {
    // The handler answers while the server is shutting down.
    while (server_->stats().listeners != 0) std::this_thread::yield();
    held.at(0).reply(response::text("finished"));
  }};
  server_->shutdown(10s);
  answer.join();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto r = f.get();
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.text(), "finished");
  ASSERT_TRUE(closed_.wait(2));
  for (auto& [p, c] : closed_.seen) EXPECT_TRUE(c.clean()) << c.reason.message();
  EXPECT_EQ(server_->stats().open, 0u);
  // Nothing listens any more.
  EXPECT_FALSE(rt_->connect_tcp("127.0.0.1", port_));
  held.clear();
}
