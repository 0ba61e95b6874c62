// Clients over TCP on loopback: calls through a client, reconnection after the server went away
// (with the calls made meanwhile waiting for the new connection), failing at once when told not
// to wait, deadlines of waiting calls, and giving up after max_attempts.
// Covers app/src/client.cpp and app/src/client_actor.cpp (and client::caller()).

#include <netcore/actors/errors.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/client.hpp>
#include <netcore/app/endpoint.hpp>
#include <netcore/app/server.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

using namespace netcore;
using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

actors::outgoing_message text_message(std::string route, std::string_view text) {
  return actors::outgoing_message::from_text(std::move(route), text);
}

class client_test : public ::testing::Test {
 public:
  client_test() {
    actors::apply(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    rt_ = std::make_unique<actors::runtime>(*sys_);
    server_ep_ = std::make_unique<endpoint>(*rt_);
    client_ep_ = std::make_unique<endpoint>(*rt_);
    EXPECT_FALSE(
        server_ep_->handle("echo", [](const request& r) { return response::text(r.text()); }));
  }
  ~client_test() override {
    client_.reset();
    server_.reset();
    client_ep_.reset();
    server_ep_.reset();
    rt_.reset();
    sys_.reset();
  }

  /// A server on `port` (0: any; the port is kept for the next one).
  void start_server(std::uint16_t port = 0) {
    server_ep_->start();
    server_ = std::make_unique<server>(*rt_, *server_ep_);
    auto p = server_->listen_tcp("127.0.0.1", port);
    ASSERT_TRUE(p) << p.error().message();
    port_ = *p;
  }
  client_config config() {
    client_config c;
    c.connect = tcp_connector(*rt_, "127.0.0.1", port_);
    c.backoff = backoff_policy{5ms, 20ms, 2.0, 0.2};
    c.seed = 1;
    return c;
  }
  reply wait(std::future<reply>& f) {
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready) << "no reply at all";
    return f.get();
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<actors::runtime> rt_;
  std::unique_ptr<endpoint> server_ep_, client_ep_;
  std::unique_ptr<server> server_;
  std::unique_ptr<client> client_;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST_F(client_test, calls_go_through_the_connection_it_makes) {
  start_server();
  client_ = std::make_unique<client>(*rt_, *client_ep_, config());
  auto f = client_->call(text_message("echo", "hello"), 10s);
  auto r = wait(f);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.text(), "hello");
  EXPECT_TRUE(client_->wait_connected(1s));
  EXPECT_FALSE(client_->send(text_message("echo", "no answer wanted")));
  auto st = client_->stats();
  EXPECT_EQ(st.connects, 1u);
  EXPECT_TRUE(st.connected);
}

TEST_F(client_test, it_reconnects_and_calls_made_meanwhile_wait_for_the_new_connection) {
  start_server();
  client_ = std::make_unique<client>(*rt_, *client_ep_, config());
  ASSERT_TRUE(client_->wait_connected(10s));
  const auto port = port_;
  server_.reset();  // shuts down: the client's connection ends, reconnecting fails for now
  std::future<reply> during;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (client_->stats().connected && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  ASSERT_FALSE(client_->stats().connected);
  during = client_->call(text_message("echo", "made while down"), 20s);
  start_server(port);
  auto r = wait(during);
  ASSERT_TRUE(r.ok()) << to_string(r.code) << ": " << r.reason;
  EXPECT_EQ(r.text(), "made while down");
  auto st = client_->stats();
  EXPECT_EQ(st.connects, 2u);
  EXPECT_EQ(st.disconnects, 1u);
}

TEST_F(client_test, without_waiting_a_call_fails_at_once_when_not_connected) {
  start_server();
  const auto port = port_;
  server_.reset();  // nothing listens on the port any more
  auto cfg = config();
  cfg.connect = tcp_connector(*rt_, "127.0.0.1", port);
  cfg.wait_for_connection = false;
  client_ = std::make_unique<client>(*rt_, *client_ep_, cfg);
  auto f = client_->call(text_message("echo", "x"), 10s);
  auto r = wait(f);
  EXPECT_EQ(r.code, status::unavailable);
  EXPECT_EQ(client_->send(text_message("echo", "x")), std::error_code{runtime_errc::closed});
}

TEST_F(client_test, a_call_waiting_for_a_connection_ends_at_its_deadline) {
  start_server();
  const auto port = port_;
  server_.reset();
  auto cfg = config();
  cfg.connect = tcp_connector(*rt_, "127.0.0.1", port);
  client_ = std::make_unique<client>(*rt_, *client_ep_, cfg);
  auto f = client_->call(text_message("echo", "x"), 100ms);
  auto r = wait(f);
  EXPECT_EQ(r.code, status::deadline_exceeded) << r.reason;
  EXPECT_GT(client_->stats().failures, 0u);
}

TEST_F(client_test, after_max_attempts_it_gives_up_and_says_why) {
  start_server();
  const auto port = port_;
  server_.reset();
  auto cfg = config();
  cfg.connect = tcp_connector(*rt_, "127.0.0.1", port);
  cfg.max_attempts = 3;
  client_ = std::make_unique<client>(*rt_, *client_ep_, cfg);
  auto f = client_->call(text_message("echo", "x"), 20s);
  auto r = wait(f);
  EXPECT_EQ(r.code, status::unavailable);
  EXPECT_NE(r.reason.find("not connected"), std::string::npos) << r.reason;
  EXPECT_FALSE(client_->wait_connected(1s));
  auto st = client_->stats();
  EXPECT_TRUE(st.given_up);
  EXPECT_EQ(st.failures, 3u);
  auto later = client_->call(text_message("echo", "y"), 1s);
  EXPECT_EQ(wait(later).code, status::unavailable);
}

TEST_F(client_test, destroying_the_client_answers_the_calls_that_wait) {
  start_server();
  const auto port = port_;
  server_.reset();
  auto cfg = config();
  cfg.connect = tcp_connector(*rt_, "127.0.0.1", port);
  client_ = std::make_unique<client>(*rt_, *client_ep_, cfg);
  auto f = client_->call(text_message("echo", "x"), 20s);
  client_.reset();
  auto r = wait(f);
  EXPECT_EQ(r.code, status::unavailable);
}

TEST_F(client_test, actors_call_through_its_caller_and_hear_unavailable_once_it_is_gone) {
  start_server();
  // Made with a connector alone: the default configuration (reconnecting, calls waiting).
  client_ = std::make_unique<client>(*rt_, *client_ep_, tcp_connector(*rt_, "127.0.0.1", port_));
  auto caller = client_->caller();
  auto call_through = [&](std::string_view text) {
    caf::scoped_actor self{*sys_};
    reply out = reply::failed(status::internal, "no reply received");
    self->request(caller, 20s, call_atom::value, text_message("echo", text), caf::timespan{10s})
        .receive([&](reply& r) { out = std::move(r); },
                 [&](caf::error& e) { out = reply::failed(status::internal, to_string(e)); });
    return out;
  };
  auto r = call_through("from an actor");
  ASSERT_TRUE(r.ok()) << to_string(r.code) << ": " << r.reason;
  EXPECT_EQ(r.text(), "from an actor");
  client_.reset();
  auto gone = call_through("after the client");
  EXPECT_EQ(gone.code, status::unavailable) << gone.reason;
}
