#include "client_actor.hpp"

#include <netcore/actors/interfaces.hpp>

#include <caf/all.hpp>

#include <map>
#include <random>
#include <vector>

namespace netcore::app::detail {

namespace {

using steady = std::chrono::steady_clock;

/// A call made while there was no connection.
struct waiting_call {
  actors::outgoing_message request;
  steady::time_point deadline;
  std::shared_ptr<client_done> done;
};

struct client_state {
  client_setup setup;
  std::optional<backoff> delays;
  std::shared_ptr<actors::connection> conn;
  bool connecting = false;
  bool stopped = false;
  std::uint32_t failed_in_a_row = 0;
  std::uint64_t next_waiting = 0;
  std::map<std::uint64_t, waiting_call> waiting;
  std::vector<caf::typed_response_promise<bool>> ready_waiters;
  client_stats stats;

  /// Whatever still waits when the client goes hears so: no call is left unanswered.
  ~client_state() { fail_waiting("the client was destroyed"); }

  void fail_waiting(const std::string& why) {
    auto left = std::move(waiting);
    waiting.clear();
    for (auto& [id, w] : left) w.done->fn(reply::failed(status::unavailable, why));
  }
};

using client_ptr = caf::stateful_actor<client_state>*;

/// One attempt, on a detached helper actor (connecting blocks); the result comes back as a
/// message.
void attempt(client_ptr self) {
  auto& s = self->state;
  if (s.connecting || s.conn || s.stopped) return;
  s.connecting = true;
  auto connect = s.setup.config.connect;
  auto parent = caf::actor_cast<caf::actor>(self);
  self->system().spawn<caf::detached>([connect, parent](caf::event_based_actor* helper) {
    auto r = connect ? connect()
                     : protocol::result<actors::connection, std::error_code>{
                           std::make_error_code(std::errc::invalid_argument)};
    if (r)
      helper->send(parent, cl_made_atom::value,
                   std::make_shared<actors::connection>(std::move(*r)));
    else
      helper->send(parent, cl_failed_atom::value, r.error().message());
    helper->quit();
  });
}

void start_call(client_ptr self, actors::outgoing_message request,
                std::chrono::milliseconds timeout, std::shared_ptr<client_done> done) {
  auto& s = self->state;
  s.setup.ep->call(*s.conn, std::move(request), timeout,
                   [done](reply r) { done->fn(std::move(r)); });
}

void on_connected(client_ptr self, std::shared_ptr<actors::connection> c) {
  auto& s = self->state;
  s.connecting = false;
  if (s.stopped) {
    c->abort();
    return;
  }
  s.conn = std::move(c);
  s.failed_in_a_row = 0;
  ++s.stats.connects;
  s.setup.ep->serve(*s.conn);
  s.conn->subscribe(caf::actor_cast<actors::event_sink>(self));
  // The calls that waited go out now, with what is left of their deadlines.
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  const auto now = steady::now();
  for (auto& [id, w] : waiting) {
    if (w.deadline <= now) {
      w.done->fn(reply::failed(status::deadline_exceeded, "no connection in time"));
      continue;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(w.deadline - now);
    start_call(self, std::move(w.request), left, std::move(w.done));
  }
  for (auto& rp : s.ready_waiters) rp.deliver(true);
  s.ready_waiters.clear();
}

/// After a failed attempt or the end of the connection: the next attempt after a delay, or
/// giving up.
void plan_retry(client_ptr self, const std::string& why) {
  auto& s = self->state;
  const auto& cfg = s.setup.config;
  if (s.stopped) return;
  if (!cfg.reconnect || (cfg.max_attempts != 0 && s.failed_in_a_row >= cfg.max_attempts)) {
    s.stats.given_up = true;
    s.fail_waiting("not connected: " + why);
    for (auto& rp : s.ready_waiters) rp.deliver(false);
    s.ready_waiters.clear();
    return;
  }
  const auto n = s.failed_in_a_row == 0 ? 0 : s.failed_in_a_row - 1;
  self->delayed_send(self, s.delays->delay(n), cl_retry_atom::value);
}

}  // namespace

caf::actor spawn_client_actor(caf::actor_system& sys, client_setup setup) {
  return sys.spawn([setup = std::move(setup)](client_ptr self) mutable -> caf::behavior {
    auto& s = self->state;
    const auto seed = setup.config.seed != 0 ? setup.config.seed : std::random_device{}();
    s.delays.emplace(setup.config.backoff, seed);
    s.setup = std::move(setup);
    attempt(self);
    return {
        [self](cl_made_atom, std::shared_ptr<actors::connection>& c) {
          on_connected(self, std::move(c));
        },
        [self](cl_failed_atom, std::string& why) {
          auto& s = self->state;
          s.connecting = false;
          ++s.stats.failures;
          ++s.failed_in_a_row;
          plan_retry(self, why);
        },
        [self](cl_retry_atom) { attempt(self); },
        [](actors::outcome_atom, actors::send_outcome&) {},
        [](actors::progress_atom, actors::send_progress&) {},
        [self](actors::closed_atom, actors::connection_closed& c) {
          auto& s = self->state;
          // Only the current connection's end counts (an earlier one's may come late).
          if (!s.conn || !self->current_sender() ||
              self->current_sender()->address() != s.conn->actor().address())
            return;
          s.conn->abort();  // marks the handle ended: dropping it does not wait for a close
          s.conn.reset();
          ++s.stats.disconnects;
          plan_retry(self, c.reason ? c.reason.message() : "closed by the peer");
        },
        [self](cl_call_atom, actors::outgoing_message& request, std::uint64_t timeout_ms,
               std::shared_ptr<client_done>& done) {
          auto& s = self->state;
          const auto& cfg = s.setup.config;
          std::chrono::milliseconds timeout{timeout_ms};
          if (timeout.count() <= 0) timeout = s.setup.default_timeout;
          if (s.conn) return start_call(self, std::move(request), timeout, std::move(done));
          if (s.stopped || s.stats.given_up || !cfg.wait_for_connection)
            return done->fn(reply::failed(status::unavailable, "not connected"));
          if (s.waiting.size() >= cfg.max_waiting_calls)
            return done->fn(
                reply::failed(status::unavailable, "too many calls waiting for a connection"));
          const auto id = ++s.next_waiting;
          s.waiting.emplace(
              id, waiting_call{std::move(request), steady::now() + timeout, std::move(done)});
          self->delayed_send(self, timeout, cl_expire_atom::value, id);
        },
        [self](cl_expire_atom, std::uint64_t id) {
          auto& s = self->state;
          auto w = s.waiting.find(id);
          if (w == s.waiting.end()) return;  // it went out meanwhile
          auto done = std::move(w->second.done);
          s.waiting.erase(w);
          done->fn(reply::failed(status::deadline_exceeded, "no connection in time"));
        },
        [self](cl_current_atom) { return self->state.conn; },
        [self](cl_ready_atom) -> caf::result<bool> {
          auto& s = self->state;
          if (s.conn) return true;
          if (s.stopped || s.stats.given_up) return false;
          auto rp = self->make_response_promise<bool>();
          s.ready_waiters.push_back(rp);
          return rp;
        },
        [self](cl_stats_atom) {
          auto s = self->state.stats;
          s.waiting = self->state.waiting.size();
          s.connected = self->state.conn != nullptr;
          return s;
        },
        [self](cl_stop_atom) {
          // The client goes: no more attempts, the waiting calls fail, and the connection goes
          // to the caller, who closes it.
          auto& s = self->state;
          s.stopped = true;
          s.fail_waiting("the client was destroyed");
          for (auto& rp : s.ready_waiters) rp.deliver(false);
          s.ready_waiters.clear();
          auto c = std::move(s.conn);
          s.conn.reset();
          return c;
        },
    };
  });
}

}  // namespace netcore::app::detail
