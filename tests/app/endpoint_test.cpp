// Endpoints over real connections (TCP on loopback): routes, request/response paired by the
// protocol, statuses, deadlines and cancellation, handlers that throw or forget to answer.
// Covers app/src/endpoint.cpp, app/src/dispatcher.cpp, app/src/runner.cpp, app/src/call.cpp and
// app/src/payload.cpp.

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/endpoint.hpp>
#include <netcore/app/events.hpp>
#include <netcore/app/payload.hpp>
#include <netcore/app/route_errors.hpp>

#include "endpoint_support.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

actors::outgoing_message text_message(std::string route, std::string_view text) {
  return actors::outgoing_message::from_text(std::move(route), text);
}

using endpoint_test = test::endpoint_pair;

}  // namespace

TEST_F(endpoint_test, a_call_gets_the_answer_of_its_route) {
  ASSERT_FALSE(server_->handle(
      "echo", [](const request& r) { return response::text("echo: " + r.text()); }));
  ASSERT_FALSE(server_->handle("upper", [](const request& r) {
    auto t = r.text();
    for (auto& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return response::text(t);
  }));
  connect();
  auto r = call("echo", "hi");
  ASSERT_TRUE(r.ok()) << to_string(r.code) << ": " << r.reason;
  EXPECT_EQ(r.text(), "echo: hi");
  // Two routes registered in a row keep their own handlers.
  auto u = call("upper", "hi");
  ASSERT_TRUE(u.ok()) << u.reason;
  EXPECT_EQ(u.text(), "HI");
}

TEST_F(endpoint_test, an_unknown_route_is_not_found_and_a_default_handler_takes_it) {
  connect();
  auto r = call("nowhere", "x");
  EXPECT_EQ(r.code, status::not_found);
  EXPECT_NE(r.reason.find("nowhere"), std::string::npos);
  server_->set_default([](const request& req, responder rs) {
    rs.reply(response::text("default for " + req.route()));
  });
  auto d = call("nowhere", "x");
  ASSERT_TRUE(d.ok()) << d.reason;
  EXPECT_EQ(d.text(), "default for nowhere");
}

TEST_F(endpoint_test, a_handler_that_throws_answers_internal_and_the_connection_goes_on) {
  ASSERT_FALSE(server_->handle(
      "boom", [](const request&) -> response { throw std::runtime_error("disk on fire"); }));
  ASSERT_FALSE(server_->handle("ok", [](const request&) { return response::text("fine"); }));
  connect();
  auto r = call("boom", "");
  EXPECT_EQ(r.code, status::internal);
  EXPECT_EQ(r.reason, "disk on fire");
  auto after = call("ok", "");
  ASSERT_TRUE(after.ok()) << after.reason;
  EXPECT_EQ(after.text(), "fine");
}

TEST_F(endpoint_test, a_responder_dropped_unanswered_answers_internal) {
  ASSERT_FALSE(server_->handle_async("forgetful", [](const request&, responder) {}));
  connect();
  auto r = call("forgetful", "");
  EXPECT_EQ(r.code, status::internal);
  EXPECT_NE(r.reason.find("dropped"), std::string::npos) << r.reason;
}

TEST_F(endpoint_test, a_late_handler_costs_the_caller_its_deadline_and_sees_the_cancel) {
  test::held_calls held;
  ASSERT_FALSE(server_->handle_async(
      "slow", held.keep([](const request& req) { EXPECT_TRUE(req.deadline().has_value()); })));
  connect();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call("slow", "", 200ms);
  EXPECT_EQ(r.code, status::deadline_exceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  // The withdrawal reached the handler's side: its responder says so, and a late answer is
  // dropped rather than delivered.
  ASSERT_TRUE(held.wait(1));
  auto late = held.at(0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!late.cancelled() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(late.cancelled());
  EXPECT_TRUE(late.reply(response::text("too late")));
  held.clear();
}

TEST_F(endpoint_test, many_concurrent_calls_each_get_their_own_answer) {
  ASSERT_FALSE(server_->handle(
      "double", [](const request& r) { return response::text(r.text() + r.text()); }));
  connect();
  std::vector<std::future<reply>> replies;
  for (int i = 0; i < 500; ++i)
    replies.push_back(client_->call(client_conn_, text_message("double", std::to_string(i))));
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(replies[i].wait_for(20s), std::future_status::ready);
    auto r = replies[i].get();
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.text(), std::to_string(i) + std::to_string(i));
  }
}

TEST_F(endpoint_test, a_route_at_its_concurrency_limit_answers_unavailable) {
  test::held_calls held;
  route_options one;
  one.max_concurrency = 1;
  ASSERT_FALSE(server_->handle_async("single", held.keep(), one));
  connect();
  auto first = client_->call(client_conn_, text_message("single", "1"));
  ASSERT_TRUE(held.wait(1));
  auto second = call("single", "2");
  EXPECT_EQ(second.code, status::unavailable);
  held.at(0).reply(response::text("one"));
  held.clear();
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(first.get().text(), "one");
}

TEST_F(endpoint_test, a_blocking_handler_does_not_hold_up_the_others) {
  std::atomic<bool> release{false};
  route_options blocking;
  blocking.blocking = true;
  ASSERT_FALSE(server_->handle(
      "block",
      [&](const request&) {
        while (!release.load()) std::this_thread::sleep_for(1ms);
        return response::text("unblocked");
      },
      blocking));
  ASSERT_FALSE(server_->handle("quick", [](const request&) { return response::text("quick"); }));
  connect();
  std::vector<std::future<reply>> stuck;
  for (int i = 0; i < 8; ++i)
    stuck.push_back(client_->call(client_conn_, text_message("block", "")));
  auto q = call("quick", "");
  EXPECT_TRUE(q.ok()) << q.reason;
  release = true;
  for (auto& f : stuck) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(f.get().text(), "unblocked");
  }
}

TEST_F(endpoint_test, a_handler_runner_busy_with_a_slow_handler_gets_no_other_call) {
  // A slow handler on a route not marked blocking holds one CAF worker and the runner it runs
  // in; calls meanwhile go to other runners (or actors of their own), never behind it. The flags
  // are shared with the handler, which may outlive a failed test by its 20 s.
  auto entered = std::make_shared<std::atomic<bool>>(false);
  auto release = std::make_shared<std::atomic<bool>>(false);
  struct releaser {
    std::shared_ptr<std::atomic<bool>> flag;
    ~releaser() { *flag = true; }
  } guard{release};
  ASSERT_FALSE(server_->handle("slow", [entered, release](const request&) {
    *entered = true;
    for (int i = 0; i < 20'000 && !release->load(); ++i) std::this_thread::sleep_for(1ms);
    return response::text("slow done");
  }));
  ASSERT_FALSE(server_->handle("quick", [](const request& r) { return response::text(r.text()); }));
  connect();
  // Warm the runners up first, so the slow call lands in a runner that is reused later.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(call("quick", "warm").ok());
  auto slow = client_->call(client_conn_, text_message("slow", ""), 30s);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!entered->load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  ASSERT_TRUE(entered->load());
  std::vector<std::future<reply>> quick;
  for (int i = 0; i < 100; ++i)
    quick.push_back(client_->call(client_conn_, text_message("quick", std::to_string(i)), 20s));
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(quick[i].wait_for(15s), std::future_status::ready) << "call " << i << " waited";
    EXPECT_EQ(quick[i].get().text(), std::to_string(i));
  }
  EXPECT_FALSE(release->load());
  *release = true;
  ASSERT_EQ(slow.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(slow.get().text(), "slow done");
}

namespace {

/// A call held by its handler when `end` runs (the connection's end, the endpoint's) is
/// answered unavailable: a reply, not a broken promise.
void held_call_fails_unavailable_when(test::endpoint_pair& t, endpoint& server, endpoint& client,
                                      actors::connection& conn, const std::function<void()>& end) {
  test::held_calls held;
  ASSERT_FALSE(server.handle_async("never", held.keep()));
  t.connect();
  auto f = client.call(conn, text_message("never", ""), 20s);
  ASSERT_TRUE(held.wait(1));
  end();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get().code, status::unavailable);
  held.clear();
}

}  // namespace

TEST_F(endpoint_test, calls_waiting_when_the_connection_ends_fail_unavailable) {
  held_call_fails_unavailable_when(*this, *server_, *client_, client_conn_,
                                   [&] { server_conn_.abort(); });
}

TEST_F(endpoint_test, calls_waiting_when_their_endpoint_is_destroyed_fail_unavailable) {
  auto& client = *client_;
  held_call_fails_unavailable_when(*this, *server_, client, client_conn_, [&] { client_.reset(); });
}

TEST_F(endpoint_test, route_names_are_checked_and_routes_removed_at_run_time) {
  EXPECT_EQ(server_->handle("bad//name", [](const request&) { return response{}; }),
            std::error_code{route_errc::invalid_name});
  ASSERT_FALSE(server_->handle("gone", [](const request&) { return response::text("here"); }));
  EXPECT_EQ(server_->handle("gone", [](const request&) { return response{}; }),
            std::error_code{route_errc::duplicate});
  connect();
  EXPECT_TRUE(call("gone", "").ok());
  ASSERT_FALSE(server_->remove("gone"));
  EXPECT_EQ(call("gone", "").code, status::not_found);
}

TEST_F(endpoint_test, json_bodies_both_ways_and_a_body_that_does_not_decode_is_a_bad_request) {
  ASSERT_FALSE(server_->handle("sum", [](const request& r) {
    const auto in = json_of(r);
    return json_response({{"sum", in.at("a").get<int>() + in.at("b").get<int>()}});
  }));
  connect();
  auto f = client_->call(client_conn_, json_message("sum", {{"a", 2}, {"b", 40}}));
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.reason;
  auto body = json_of(r);
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ((*body)["sum"], 42);
  auto bad = call("sum", "{not json");
  EXPECT_EQ(bad.code, status::bad_request);
  EXPECT_NE(bad.reason.find("JSON"), std::string::npos) << bad.reason;
}

TEST_F(endpoint_test, a_call_on_a_connection_that_already_ended_fails_at_once) {
  connect();
  server_conn_.abort();
  client_conn_.close();  // returns once the client's side has ended too
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call("anything", "", 20s);
  EXPECT_EQ(r.code, status::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "it waited for its deadline";
}

TEST_F(endpoint_test, an_endpoint_reports_its_calls_and_connections_as_events) {
  events ev{*sys_};
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> seen;
  for (const char* name :
       {event_names::started, event_names::connected, event_names::request, event_names::response,
        event_names::message_sent, event_names::message_received, event_names::disconnected,
        event_names::stopped}) {
    ev.on(name, [&, name](const event& e) {
      std::string line = name;
      if (auto c = e.as<call_event>()) line += " " + c->route + " " + to_string(c->code);
      std::lock_guard<std::mutex> guard{m};
      seen.push_back(line);
      cv.notify_all();
    });
  }
  endpoint_config cfg;
  cfg.events = &ev;
  server_ = std::make_unique<endpoint>(*rt_, cfg);
  ASSERT_FALSE(server_->handle("hello", [](const request&) { return response::text("hi"); }));
  connect();
  EXPECT_TRUE(call("hello", "").ok());
  EXPECT_EQ(call("nowhere", "").code, status::not_found);
  // A one-way message from the server's side (the client's endpoint has no such route).
  ASSERT_FALSE(server_->send(server_conn_, text_message("notice", "n")));
  // And one from the client to the server's "hello" route: its handler runs, nothing answers.
  ASSERT_FALSE(client_->send(client_conn_, text_message("hello", "one-way")));
  auto wait_for = [&](const std::string& line) {
    std::unique_lock<std::mutex> guard{m};
    return cv.wait_for(guard, 10s,
                       [&] { return std::find(seen.begin(), seen.end(), line) != seen.end(); });
  };
  EXPECT_TRUE(wait_for("message_received hello ok"));
  client_conn_.abort();
  EXPECT_TRUE(wait_for("disconnected"));
  server_.reset();  // before `ev`, which it reports to
  EXPECT_TRUE(wait_for("stopped"));
  std::lock_guard<std::mutex> guard{m};
  const std::vector<std::string> want{"started",
                                      "connected",
                                      "request hello ok",
                                      "response hello ok",
                                      "request nowhere ok",
                                      "response nowhere not_found",
                                      "message_sent notice ok",
                                      "message_received hello ok",
                                      "disconnected",
                                      "stopped"};
  EXPECT_EQ(seen, want);
}

TEST_F(endpoint_test, stop_drains_calls_in_flight_refuses_new_ones_and_start_takes_them_again) {
  test::held_calls held;
  ASSERT_FALSE(server_->handle_async("hold", held.keep()));
  ASSERT_FALSE(server_->handle("quick", [](const request&) { return response::text("q"); }));
  connect();
  auto in_flight = client_->call(client_conn_, text_message("hold", ""));
  ASSERT_TRUE(held.wait(1));
  // A graceful stop waits for the call in flight; meanwhile new calls are refused.
  auto stopping = std::async(std::launch::async, [&] { return server_->stop(20s); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  reply refused;
  do {
    refused = call("quick", "");
  } while (refused.ok() && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(refused.code, status::unavailable);
  EXPECT_EQ(stopping.wait_for(0s), std::future_status::timeout) << "stop() did not wait";
  held.at(0).reply(response::text("finished"));
  ASSERT_EQ(stopping.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(stopping.get(), 0u);  // nothing was cut off
  ASSERT_EQ(in_flight.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(in_flight.get().text(), "finished");
  // Started again, it answers; stopped with a short deadline, a call still running is cut off.
  server_->start();
  EXPECT_TRUE(call("quick", "").ok());
  auto cut = client_->call(client_conn_, text_message("hold", ""));
  ASSERT_TRUE(held.wait(2));
  EXPECT_EQ(server_->stop(100ms), 1u);
  ASSERT_EQ(cut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(cut.get().code, status::unavailable);
  EXPECT_TRUE(held.at(1).cancelled());  // its answer would be dropped
  held.clear();
}

TEST_F(endpoint_test, a_route_handled_by_a_typed_actor_gets_its_answers) {
  // A stateful actor: it counts the requests it answered (its state is its own, no locks).
  auto counter = sys_->spawn([](handler_actor::pointer self) -> handler_actor::behavior_type {
    auto n = std::make_shared<int>(0);
    return {[self, n](handle_atom, const request& r) -> caf::result<response> {
      if (r.text() == "fail") return caf::make_error(caf::sec::runtime_error, "refused");
      (void)self;
      return response::text(r.text() + " #" + std::to_string(++*n));
    }};
  });
  ASSERT_FALSE(server_->handle_actor("count", counter));
  connect();
  EXPECT_EQ(call("count", "a").text(), "a #1");
  EXPECT_EQ(call("count", "b").text(), "b #2");
  auto failed = call("count", "fail");
  EXPECT_EQ(failed.code, status::internal);
  EXPECT_NE(failed.reason.find("handler actor failed"), std::string::npos) << failed.reason;
  // A handler actor that is gone answers internal too; the connection goes on.
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  auto gone = call("count", "c");
  EXPECT_EQ(gone.code, status::internal) << gone.reason;
  EXPECT_EQ(server_->handle_actor("null", handler_actor{}),
            std::make_error_code(std::errc::invalid_argument));
}
