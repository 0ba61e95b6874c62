#include "server_actor.hpp"

#include "dispatcher.hpp"

#include <netcore/actors/interfaces.hpp>
#include <netcore/protocol/error.hpp>

#include <caf/all.hpp>

#include <map>
#include <vector>

namespace netcore::app::detail {

namespace {

using steady = std::chrono::steady_clock;

/// One connection the server owns, from its arrival to its end.
struct entry {
  std::shared_ptr<actors::connection> conn;
  peer_info info;
  bool taken = false;         // accepted: counts against max_connections, hooks hear its end
  bool closing = false;       // a graceful close was asked for
  bool idle_closing = false;  // ... by the idle timeout
  std::uint64_t seen = 0;     // messages in and out at the last look
  steady::time_point last_active;
};

struct server_state {
  server_setup setup;
  std::map<caf::actor_addr, entry> conns;
  server_stats stats;
  bool refusing = false;  // shutdown began
  bool idle_armed = false;
  std::uint64_t close_generation = 0;
  std::vector<caf::typed_response_promise<caf::ok_atom>> close_waiters;
};

using server_ptr = caf::stateful_actor<server_state>*;

/// The idle sweep runs a few times per timeout while connections are served.
void arm_idle(server_ptr self) {
  auto& s = self->state;
  const auto idle = s.setup.config.idle_timeout;
  if (idle.count() <= 0 || s.idle_armed || s.stats.open == 0) return;
  s.idle_armed = true;
  self->delayed_send(self, std::max(idle / 4, std::chrono::milliseconds{5}), idle_tick_atom::value);
}

admission decide(server_ptr self, const peer_info& info) {
  auto& s = self->state;
  const auto& cfg = s.setup.config;
  if (s.refusing) return admission::refuse("the server is shutting down");
  if (s.stats.open >= cfg.max_connections)
    return admission::refuse("the server holds its maximum of " +
                             std::to_string(cfg.max_connections) + " connections");
  if (!cfg.on_open) return admission::accept();
  try {
    return cfg.on_open(info);
  } catch (const std::exception& e) {
    return admission::refuse(std::string{"the server refused the connection: "} + e.what());
  } catch (...) {
    return admission::refuse("the server refused the connection");
  }
}

void adopt(server_ptr self, std::shared_ptr<actors::connection> c, std::string listener) {
  auto& s = self->state;
  if (!c || !c->valid()) return;
  entry e;
  e.conn = c;
  e.info.id = c->actor().address();
  e.info.transport = c->describe();
  e.info.listener = std::move(listener);
  e.info.identity = c->peer();
  e.last_active = steady::now();
  // Subscribed first: whatever happens next, its end reaches us (exactly once).
  c->subscribe(caf::actor_cast<actors::event_sink>(self));
  auto a = decide(self, e.info);
  if (a.accepted) {
    e.taken = true;
    ++s.stats.accepted;
    ++s.stats.open;
    s.setup.ep->serve(*c, std::move(a.state));
  } else {
    ++s.stats.refused;
    c->abort(protocol::errc::refused, a.reason);
  }
  s.conns[e.info.id] = std::move(e);
  arm_idle(self);
}

void answer_closers(server_ptr self) {
  auto& s = self->state;
  if (!s.conns.empty() || s.close_waiters.empty()) return;
  for (auto& rp : s.close_waiters) rp.deliver(caf::ok_atom::value);
  s.close_waiters.clear();
}

void on_end(server_ptr self, const actors::connection_closed& closed) {
  auto& s = self->state;
  if (!self->current_sender()) return;
  auto it = s.conns.find(self->current_sender()->address());
  if (it == s.conns.end()) return;
  auto e = std::move(it->second);
  s.conns.erase(it);
  e.conn->abort();  // marks the handle ended, so dropping it does not wait for a close
  if (e.taken) {
    --s.stats.open;
    ++s.stats.closed;
    if (e.idle_closing) ++s.stats.idle_closed;
    if (s.setup.config.on_close) {
      try {
        s.setup.config.on_close(e.info, closed);
      } catch (...) {
        // A hook that throws loses only its own notice.
      }
    }
  }
  answer_closers(self);
}

void close_gracefully(server_ptr self, entry& e, std::chrono::milliseconds deadline) {
  if (e.closing) return;
  e.closing = true;
  // The end comes as a closed event (we are subscribed); the reply only confirms it.
  self->request(e.conn->actor(), deadline + std::chrono::seconds{5}, actors::close_atom::value,
                caf::timespan{deadline})
      .then([](actors::connection_closed&) {}, [](caf::error&) {});
}

/// Looks at one connection for the idle timeout: traffic since the last look keeps it; so do
/// calls still being answered.
void look_at(server_ptr self, const caf::actor_addr& addr) {
  auto& s = self->state;
  auto it = s.conns.find(addr);
  if (it == s.conns.end() || !it->second.taken || it->second.closing) return;
  self->request(it->second.conn->actor(), std::chrono::seconds{5}, actors::stats_atom::value)
      .then(
          [self, addr](actors::connection_stats& st) {
            auto& s = self->state;
            auto it = s.conns.find(addr);
            if (it == s.conns.end() || it->second.closing) return;
            auto& e = it->second;
            const auto now = steady::now();
            const auto seen = st.session.messages_sent + st.session.messages_received;
            if (seen != e.seen) {
              e.seen = seen;
              e.last_active = now;
              return;
            }
            if (now - e.last_active < s.setup.config.idle_timeout) return;
            self->request(s.setup.dispatcher, std::chrono::seconds{5}, active_calls_atom::value,
                          addr)
                .then(
                    [self, addr](std::uint64_t active) {
                      auto& s = self->state;
                      auto it = s.conns.find(addr);
                      if (it == s.conns.end()) return;
                      if (active > 0) {
                        it->second.last_active = steady::now();
                        return;
                      }
                      it->second.idle_closing = true;
                      close_gracefully(self, it->second, s.setup.config.shutdown_timeout);
                    },
                    [](caf::error&) {});
          },
          [](caf::error&) {});
}

}  // namespace

caf::actor spawn_server_actor(caf::actor_system& sys, server_setup setup) {
  return sys.spawn([setup = std::move(setup)](server_ptr self) mutable -> caf::behavior {
    self->state.setup = std::move(setup);
    return {
        [self](adopt_atom, std::shared_ptr<actors::connection>& c, std::string& listener) {
          adopt(self, std::move(c), std::move(listener));
        },
        [self](listeners_atom, std::uint64_t n) { self->state.stats.listeners = n; },
        [self](refuse_new_atom) { self->state.refusing = true; },
        [](actors::outcome_atom, actors::send_outcome&) {},
        [](actors::progress_atom, actors::send_progress&) {},
        [self](actors::closed_atom, actors::connection_closed& c) { on_end(self, c); },
        [self](idle_tick_atom) {
          auto& s = self->state;
          s.idle_armed = false;
          std::vector<caf::actor_addr> all;
          for (auto& [addr, e] : s.conns) all.push_back(addr);
          for (auto& addr : all) look_at(self, addr);
          arm_idle(self);
        },
        [self](close_all_atom, caf::timespan deadline) -> caf::result<caf::ok_atom> {
          auto& s = self->state;
          s.refusing = true;
          if (s.conns.empty()) return caf::ok_atom::value;
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline);
          for (auto& [addr, e] : s.conns) close_gracefully(self, e, ms);
          auto rp = self->make_response_promise<caf::ok_atom>();
          s.close_waiters.push_back(rp);
          self->delayed_send(self, deadline, close_due_atom::value, ++s.close_generation);
          return rp;
        },
        [self](close_due_atom, std::uint64_t generation) {
          // Phase 2's deadline: what is still open ends now (its end still comes as an event).
          auto& s = self->state;
          if (generation != s.close_generation) return;
          for (auto& [addr, e] : s.conns) e.conn->abort();
        },
        [self](server_stats_atom) { return self->state.stats; },
    };
  });
}

}  // namespace netcore::app::detail
