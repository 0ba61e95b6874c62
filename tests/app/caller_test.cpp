// Calls made by actors through a caller actor (endpoint::caller()): the reply arrives as the
// response to a typed CAF request, for a blocking scoped actor and for an event-based actor that
// composes the call into its own answer; failures are replies with their status, never errors or
// silence, also once the endpoint is gone.
// Covers app/src/caller.cpp and endpoint::caller() in app/src/endpoint.cpp.

#include <netcore/app/caller.hpp>

#include "endpoint_support.hpp"

#include <string>
#include <thread>

using namespace netcore;
using namespace netcore::app;
using namespace netcore::app::test;

namespace {

class caller_test : public endpoint_pair {
 public:
  caller_test() {
    EXPECT_FALSE(
        server_->handle("echo", [](const request& r) { return response::text(r.text()); }));
    EXPECT_FALSE(server_->handle_async("hold", held_.keep()));
  }

  /// Calls `route` through `caller` from a scoped actor and returns what came back.
  reply call_through(const caller_actor& caller, std::string route, std::string_view body,
                     caf::timespan timeout = caf::timespan{0}) {
    caf::scoped_actor self{*sys_};
    reply out = reply::failed(status::internal, "no reply received");
    self->request(caller, 20s, call_atom::value,
                  actors::outgoing_message::from_text(std::move(route), body), timeout)
        .receive([&](reply& r) { out = std::move(r); },
                 [&](caf::error& e) { out = reply::failed(status::internal, to_string(e)); });
    return out;
  }

  held_calls held_;
};

// An actor that answers a string with what the peer's echo route made of it, through `caller`.
caf::behavior relay(caf::event_based_actor* self, caller_actor caller) {
  return {
      [self, caller](std::string& text) -> caf::result<std::string> {
        auto promise = self->make_response_promise<std::string>();
        self->request(caller, std::chrono::seconds{20}, call_atom::value,
                      actors::outgoing_message::from_text("echo", text), caf::timespan{0})
            .then([promise](reply& r) mutable {
              promise.deliver(r.ok() ? "relayed: " + r.text() : "failed: " + r.reason);
            });
        return promise;
      },
  };
}

}  // namespace

TEST_F(caller_test, an_actor_gets_the_reply_as_its_response) {
  connect();
  auto caller = client_->caller(client_conn_);
  auto r = call_through(caller, "echo", "from an actor");
  ASSERT_TRUE(r.ok()) << to_string(r.code) << ": " << r.reason;
  EXPECT_EQ(r.text(), "from an actor");
  // Failures are replies with their status.
  auto missing = call_through(caller, "no/such/route", "x");
  EXPECT_EQ(missing.code, status::not_found) << missing.reason;
}

TEST_F(caller_test, an_event_based_actor_composes_the_call_into_its_own_answer) {
  connect();
  auto r = sys_->spawn(relay, client_->caller(client_conn_));
  caf::scoped_actor self{*sys_};
  std::string out;
  self->request(r, 20s, std::string{"ping"})
      .receive([&](std::string& s) { out = std::move(s); },
               [&](caf::error& e) { out = "error: " + to_string(e); });
  EXPECT_EQ(out, "relayed: ping");
  caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
}

TEST_F(caller_test, a_deadline_that_passes_answers_deadline_exceeded) {
  connect();
  auto caller = client_->caller(client_conn_);
  auto r = call_through(caller, "hold", "never answered", 50ms);
  EXPECT_EQ(r.code, status::deadline_exceeded) << r.reason;
  // The handler sees the call withdrawn.
  ASSERT_TRUE(held_.wait(1));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!held_.at(0).cancelled() && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_TRUE(held_.at(0).cancelled());
}

TEST_F(caller_test, a_call_after_the_endpoint_is_gone_answers_unavailable) {
  connect();
  auto caller = client_->caller(client_conn_);
  ASSERT_TRUE(call_through(caller, "echo", "before").ok());
  client_.reset();
  auto r = call_through(caller, "echo", "after");
  EXPECT_EQ(r.code, status::unavailable) << r.reason;
}

TEST_F(caller_test, a_call_on_a_connection_that_ended_answers_unavailable) {
  connect();
  auto caller = client_->caller(client_conn_);
  client_conn_.close();
  auto r = call_through(caller, "echo", "after the close");
  EXPECT_EQ(r.code, status::unavailable) << r.reason;
}

TEST_F(caller_test, a_caller_stopped_with_calls_open_answers_them_unavailable) {
  connect();
  auto caller = client_->caller(client_conn_);
  std::thread stopper{[&] {
    if (held_.wait(1)) caf::anon_send_exit(caller, caf::exit_reason::user_shutdown);
  }};
  auto r = call_through(caller, "hold", "open when the caller stops", 20s);
  stopper.join();
  EXPECT_EQ(r.code, status::unavailable) << r.reason;
  EXPECT_NE(r.reason.find("caller actor was stopped"), std::string::npos) << r.reason;
}

TEST_F(caller_test, a_timeout_below_a_millisecond_is_not_the_default) {
  connect();
  auto caller = client_->caller(client_conn_);
  // 0.3 ms rounds up to 1 ms (not 0, which would mean the 30 s default): the held call fails.
  auto r = call_through(caller, "hold", "too short", std::chrono::microseconds{300});
  EXPECT_EQ(r.code, status::deadline_exceeded) << r.reason;
}
