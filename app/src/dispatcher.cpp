#include "dispatcher.hpp"

#include "chain.hpp"
#include "runner.hpp"

#include <netcore/app/task_scheduler_core.hpp>

#include <netcore/actors/interfaces.hpp>
#include <netcore/session/config.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

namespace netcore::app::detail {

namespace {

using call_key = std::pair<caf::actor_addr, std::uint64_t>;  // connection, caller's message id

/// A call this side made, until its response, its deadline or the end of its connection.
struct outgoing_call {
  std::shared_ptr<pending_call> pending;
  actors::connection_actor connection;
  task_handle deadline;  // in `timers`
};

/// What a deadline in `timers` ends: a call this side made, or one it answers.
struct deadline_of {
  bool outgoing = false;
  call_key key;
};

/// A delivery whose calls wait for room in the admission budgets (its acknowledgement withheld,
/// so its connection stops reading once its delivery budget is used up).
struct held_delivery {
  actors::connection_actor conn;
  std::deque<protocol::incoming_message> requests;  // not started yet, in order
  caf::typed_response_promise<caf::ok_atom> rp;
};

/// What the dispatcher keeps per connection it serves or calls on.
struct connection_entry {
  std::shared_ptr<std::any> state;  // endpoint::serve()'s
  std::uint64_t active_bytes = 0;   // cost of its calls being answered
  std::uint64_t active_calls = 0;
  std::deque<held_delivery> held;
};

struct dispatcher_state {
  std::shared_ptr<routing_holder> routes;
  dispatcher_limits limits;
  std::map<caf::actor_addr, connection_entry> conns;
  std::uint64_t active_bytes = 0;                          // cost of every call being answered
  bool admitting = false;                                  // admit_held() runs
  std::map<call_key, std::shared_ptr<call_state>> active;  // requests being answered
  std::map<call_key, outgoing_call> pending;               // calls waiting for a response
  std::map<std::uint64_t, std::size_t> running;            // handler key → calls running
  std::shared_ptr<served_set> served;                      // the endpoint's, live ones only
  std::set<caf::actor_addr> watched;  // monitored connections this side calls on (live ones)
  // Every deadline, on one timer: CAF's delayed messages cannot be cancelled and would keep each
  // call (and its body) alive until its deadline, answered or not.
  task_scheduler_core timers;
  std::map<std::uint64_t, deadline_of> deadlines;  // task id → what it ends
  std::optional<clock::time_point> armed;          // the time of the tick on its way
  std::uint64_t tick_generation = 0;
  // stop(): new calls are refused while draining; the promises answer once none is running.
  bool draining = false;
  std::uint64_t drain_generation = 0;
  std::vector<caf::typed_response_promise<std::uint64_t>> drain_waiters;
  // Runners that are free, and how many exist (at most max_runners; beyond, a call whose runners
  // are all busy gets a one-shot actor). They quit when the dispatcher ends.
  std::vector<caf::actor> idle_runners;
  std::size_t runners = 0;
  static constexpr std::size_t max_runners = 16;

  /// The endpoint is gone: every call still waiting hears so (no future is left broken, no
  /// callback uncalled).
  ~dispatcher_state() {
    auto left = std::move(pending);
    for (auto& [key, call] : left)
      call.pending->done(reply::failed(status::unavailable, "the endpoint was destroyed"));
    // Held deliveries are acknowledged, so their connections do not stay paused for good.
    for (auto& [addr, c] : conns)
      for (auto& h : c.held) h.rp.deliver(caf::ok_atom::value);
  }
};

using dispatcher_ptr = caf::stateful_actor<dispatcher_state>*;

/// Reports `name` about `call` when the endpoint has an events actor.
void report(dispatcher_ptr self, const char* name, const call_state& call, status code = status::ok,
            std::string reason = {}) {
  auto* ev = self->state.limits.ev;
  if (!ev) return;
  ev->emit(name, call_event{call.message.meta.route, call.message.id, call.connection.address(),
                            code, std::move(reason)});
}

void answer(dispatcher_ptr self, const call_state& c, response r) {
  self->send(c.connection, actors::send_atom::value, std::uint64_t{0},
             answer_message(c, std::move(r)));
}

/// Runs the chain of `call` in an actor of its own (detached for a blocking route); whatever it
/// throws is answered by the error handlers, else status::internal with the text.
void run_handler(dispatcher_ptr self, std::shared_ptr<const routing> snapshot, resolution res,
                 bool blocking, const std::shared_ptr<call_state>& call) {
  auto job = std::make_shared<runner_job>();
  job->snapshot = std::move(snapshot);
  job->res = std::move(res);
  job->call = call;
  job->rs = std::make_shared<responder_state>();
  job->rs->call = call;
  call->answering = job->rs;
  auto& s = self->state;
  if (!blocking && (!s.idle_runners.empty() || s.runners < s.max_runners)) {
    caf::actor runner;
    if (s.idle_runners.empty()) {
      runner = spawn_runner(self->system(), caf::actor_cast<caf::actor>(self));
      ++s.runners;
    } else {
      runner = std::move(s.idle_runners.back());
      s.idle_runners.pop_back();
    }
    self->send(runner, run_atom::value, std::move(job));
    return;
  }
  // A blocking route, or every runner busy: an actor of its own (detached when blocking).
  auto body = [job = std::move(job)](caf::event_based_actor* worker) mutable {
    job->run();
    worker->quit();
  };
  if (blocking)
    self->system().spawn<caf::detached>(std::move(body));
  else
    self->system().spawn(std::move(body));
}

/// Registers a deadline `at` for `what`; a full timer table means no deadline (the call is
/// still bounded by the table limits and the connection's end).
task_handle add_deadline(dispatcher_ptr self, clock::time_point at, deadline_of what) {
  auto& s = self->state;
  auto r = s.timers.schedule_at(at);
  if (!r) return {};
  s.deadlines.emplace(r.handle.id, std::move(what));
  return r.handle;
}

void drop_deadline(dispatcher_ptr self, task_handle h) {
  auto& s = self->state;
  if (!h.valid()) return;
  if (s.timers.cancel(h)) s.deadlines.erase(h.id);
}

/// Keeps one tick on its way for the earliest deadline (only when that moved earlier).
void rearm(dispatcher_ptr self) {
  auto& s = self->state;
  auto next = s.timers.next_deadline();
  if (!next || (s.armed && *s.armed <= *next)) return;
  s.armed = *next;
  const auto delay = std::max(clock::duration::zero(), *next - clock::now());
  self->delayed_send(self, delay, expire_atom::value, ++s.tick_generation);
}

/// The call is over: its deadline, limits and budget shares are released. `call` is a copy (the
/// caller's may be the entry this erases).
void finish(dispatcher_ptr self, std::shared_ptr<call_state> call) {
  auto& s = self->state;
  drop_deadline(self, call->deadline_task);
  auto r = s.running.find(call->handler_key);
  if (r != s.running.end() && r->second > 0 && --r->second == 0) s.running.erase(r);
  s.active.erase({call->connection.address(), call->message.id});
  s.active_bytes -= call->cost;
  if (auto c = s.conns.find(call->connection.address()); c != s.conns.end()) {
    c->second.active_bytes -= call->cost;
    --c->second.active_calls;
  }
  call->cost = 0;
  if (s.draining && s.active.empty()) {
    for (auto& rp : s.drain_waiters) rp.deliver(std::uint64_t{0});
    s.drain_waiters.clear();
  }
}

/// A request (or a plain message) arrived: resolve its route and start its handler.
void on_request(dispatcher_ptr self, const actors::connection_actor& conn,
                protocol::incoming_message m) {
  auto& s = self->state;
  auto call = std::make_shared<call_state>();
  call->wants_answer = m.meta.call.has_value();
  const std::uint32_t deadline_ms = m.meta.call ? m.meta.call->deadline_ms : 0;
  call->message = std::move(m);
  call->connection = conn;
  call->dispatcher = caf::actor_cast<caf::actor>(self);
  auto& entry_of_conn = s.conns[conn.address()];
  call->connection_state = entry_of_conn.state;
  report(self, call->wants_answer ? event_names::request : event_names::message_received, *call);
  auto refuse = [&](status code, std::string why) {
    report(self, event_names::response, *call, code, why);
    if (call->wants_answer) answer(self, *call, response::error(code, std::move(why)));
  };
  if (s.draining) return refuse(status::unavailable, "the endpoint is stopping");
  if (s.active.size() >= s.limits.max_active_calls)
    return refuse(status::unavailable, "the server has too many calls running");
  auto snapshot = s.routes->load();
  auto found = snapshot->table.resolve(call->message.meta.route);
  auto entry = snapshot->handlers.find(found.handler);
  if (found.handler == 0 || entry == snapshot->handlers.end())
    return refuse(found.bad_name ? status::bad_request : status::not_found,
                  "no route " + call->message.meta.route);
  auto& running = s.running[found.handler];
  if (entry->second.max_concurrency != 0 && running >= entry->second.max_concurrency) {
    if (running == 0) s.running.erase(found.handler);
    return refuse(status::unavailable, "route " + call->message.meta.route + " is at its limit");
  }
  ++running;
  call->handler_key = found.handler;
  if (deadline_ms != 0) {
    const auto after = std::chrono::milliseconds{deadline_ms};
    call->deadline = clock::now() + after;
    call->deadline_task =
        add_deadline(self, *call->deadline, deadline_of{false, {conn.address(), call->message.id}});
  }
  // A body in a file holds no memory (the spill quota bounds the disk): only its overhead counts.
  call->cost =
      (call->message.body.is_file() ? 0 : call->message.body.size()) + session::message_overhead;
  s.active_bytes += call->cost;
  entry_of_conn.active_bytes += call->cost;
  ++entry_of_conn.active_calls;
  s.active.emplace(call_key{conn.address(), call->message.id}, call);
  const bool blocking = entry->second.blocking;
  run_handler(self, std::move(snapshot), std::move(found), blocking, call);
}

void fail_pending(dispatcher_ptr self, const call_key& key, reply r) {
  auto& s = self->state;
  auto p = s.pending.find(key);
  if (p == s.pending.end()) return;
  auto pending = std::move(p->second.pending);
  drop_deadline(self, p->second.deadline);
  s.pending.erase(p);
  pending->done(std::move(r));
}

/// Tells the peer that the call `id` (ours) is no longer wanted.
void withdraw(dispatcher_ptr self, const actors::connection_actor& conn, std::uint64_t id,
              const std::string& route) {
  actors::outgoing_message out;
  out.meta.route = route;
  protocol::call_info info;
  info.what = protocol::call_info::kind::cancel;
  info.request_id = id;
  out.meta.call = std::move(info);
  self->send(conn, actors::send_atom::value, std::uint64_t{0}, std::move(out));
}

/// Takes the responses and cancels out of `d` (they never wait for admission: a handler may be
/// waiting for one of them); what is left are requests and plain messages.
void take_answers(dispatcher_ptr self, const actors::connection_actor& conn, actors::delivery& d) {
  auto& s = self->state;
  auto& msgs = d.messages;
  auto keep = msgs.begin();
  for (auto& m : msgs) {
    if (!m.meta.call || m.meta.call->what == protocol::call_info::kind::request) {
      if (&*keep != &m) *keep = std::move(m);
      ++keep;
      continue;
    }
    const call_key key{conn.address(), m.meta.call->request_id};
    if (m.meta.call->what == protocol::call_info::kind::cancel) {
      // The caller withdrew its request: the handler can see it, its answer is dropped.
      if (auto a = s.active.find(key); a != s.active.end()) {
        a->second->cancelled = true;
        report(self, event_names::cancelled, *a->second, status::cancelled, "withdrawn");
        finish(self, a->second);
      } else if (auto c = s.conns.find(conn.address()); c != s.conns.end()) {
        // Still waiting for admission: it never starts.
        for (auto& h : c->second.held)
          h.requests.erase(std::remove_if(h.requests.begin(), h.requests.end(),
                                          [&](const protocol::incoming_message& r) {
                                            return r.id == key.second;
                                          }),
                           h.requests.end());
      }
      continue;
    }
    reply r;
    r.code = static_cast<status>(m.meta.call->status);
    r.reason = m.meta.call->message;
    r.meta = std::move(m.meta);
    r.body = std::move(m.body);
    fail_pending(self, key, std::move(r));  // a response for no waiting call is dropped
  }
  msgs.erase(keep, msgs.end());
  // A request that failed on its way in (a limit, a digest) cannot be answered: its caller
  // learns of it through its own send's outcome (the CANCEL) or its deadline.
}

/// True when requests from `c` may start now: below both admission budgets (0: none).
bool has_room(const dispatcher_state& s, const connection_entry& c) {
  return (s.limits.max_active_bytes == 0 || s.active_bytes < s.limits.max_active_bytes) &&
         (s.limits.max_connection_bytes == 0 || c.active_bytes < s.limits.max_connection_bytes);
}

/// Starts requests of `h` while `c` and the endpoint have room; true once none is left.
bool start_some(dispatcher_ptr self, connection_entry& c, held_delivery& h) {
  while (!h.requests.empty() && has_room(self->state, c)) {
    auto m = std::move(h.requests.front());
    h.requests.pop_front();
    on_request(self, h.conn, std::move(m));
  }
  return h.requests.empty();
}

/// Starts the requests of held deliveries, oldest first on each connection, while the budgets
/// have room, and acknowledges the deliveries started in full (their connections read again).
void admit_held(dispatcher_ptr self) {
  auto& s = self->state;
  if (s.admitting) return;
  s.admitting = true;
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& [addr, c] : s.conns) {
      // A held delivery left empty (its requests withdrawn) is acknowledged at once.
      while (!c.held.empty() && c.held.front().requests.empty()) {
        c.held.front().rp.deliver(caf::ok_atom::value);
        c.held.pop_front();
      }
      if (c.held.empty() || !has_room(s, c)) continue;
      progress = true;
      if (!start_some(self, c, c.held.front())) continue;
      c.held.front().rp.deliver(caf::ok_atom::value);
      c.held.pop_front();
    }
  }
  s.admitting = false;
}

/// The connection `conn` ended (its closed event, or the end of the actor we monitor): its
/// calls fail, its requests are cancelled, and nothing about it is kept.
void connection_gone(dispatcher_ptr self, const caf::actor_addr& conn, const std::error_code& why) {
  auto& s = self->state;
  if (s.served) {
    std::lock_guard<std::mutex> guard{s.served->mutex};
    s.served->connections.erase(conn);
  }
  s.watched.erase(conn);
  for (auto a = s.active.begin(); a != s.active.end();) {
    if (a->first.first != conn) {
      ++a;
      continue;
    }
    a->second->cancelled = true;
    auto call = a->second;
    ++a;
    finish(self, call);
  }
  if (auto c = s.conns.find(conn); c != s.conns.end()) {
    auto held = std::move(c->second.held);
    s.conns.erase(c);
    // Nobody will answer them: the connection is gone (its acknowledgements go nowhere).
    for (auto& h : held) h.rp.deliver(caf::ok_atom::value);
  }
  admit_held(self);
  for (auto p = s.pending.begin(); p != s.pending.end();) {
    if (p->first.first != conn) {
      ++p;
      continue;
    }
    auto pending = std::move(p->second.pending);
    drop_deadline(self, p->second.deadline);
    p = s.pending.erase(p);
    pending->done(reply::failed(status::unavailable, "connection closed: " + why.message()));
  }
}

void on_closed(dispatcher_ptr self, const actors::connection_closed& c) {
  auto& s = self->state;
  const auto conn = self->current_sender() ? self->current_sender()->address() : caf::actor_addr{};
  // A sink told of an end may hear of it twice (the closed event, the monitor): once is enough.
  const bool known = s.served && [&] {
    std::lock_guard<std::mutex> guard{s.served->mutex};
    return s.served->connections.count(conn) != 0;
  }();
  if ((known || s.watched.count(conn) != 0) && s.limits.ev)
    s.limits.ev->emit(event_names::disconnected, connection_event{conn, c.reason});
  connection_gone(self, conn, c.reason);
}

}  // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, std::shared_ptr<routing_holder> routes,
                            std::shared_ptr<served_set> served, dispatcher_limits limits) {
  return sys.spawn([routes, served, limits](dispatcher_ptr self) -> caf::behavior {
    self->state.routes = routes;
    self->state.served = served;
    self->state.limits = limits;
    // A connection this side calls on is monitored: its end (also an end that came before the
    // call) fails the calls waiting on it.
    self->set_down_handler([self](caf::down_msg& m) {
      connection_gone(self, m.source, std::error_code{runtime_errc::closed});
    });
    return {
        [self](actors::deliver_atom, actors::delivery& d) -> caf::result<caf::ok_atom> {
          auto& s = self->state;
          auto conn = caf::actor_cast<actors::connection_actor>(self->current_sender());
          take_answers(self, conn, d);
          admit_held(self);  // answers may have ended calls
          auto& c = s.conns[conn.address()];
          held_delivery h{conn,
                          {std::make_move_iterator(d.messages.begin()),
                           std::make_move_iterator(d.messages.end())},
                          {}};
          if (c.held.empty() && start_some(self, c, h)) {
            rearm(self);
            return caf::ok_atom::value;
          }
          // Over an admission budget: the rest waits, and so does the acknowledgement.
          h.rp = self->make_response_promise<caf::ok_atom>();
          auto rp = h.rp;
          c.held.push_back(std::move(h));
          rearm(self);
          return rp;
        },
        [self](serve_atom, caf::actor_addr& conn, std::shared_ptr<std::any>& state) {
          self->state.conns[conn].state = std::move(state);
        },
        [self](active_calls_atom, caf::actor_addr& conn) -> std::uint64_t {
          auto& s = self->state;
          auto c = s.conns.find(conn);
          if (c == s.conns.end()) return 0;
          std::uint64_t n = c->second.active_calls;
          for (auto& h : c->second.held) n += h.requests.size();
          return n;
        },
        [self](endpoint_stats_atom) {
          auto& s = self->state;
          endpoint_stats out;
          out.active_calls = s.active.size();
          out.active_bytes = s.active_bytes;
          out.pending_calls = s.pending.size();
          for (auto& [addr, c] : s.conns)
            for (auto& h : c.held) out.waiting_requests += h.requests.size();
          return out;
        },
        [self](actors::outcome_atom, actors::send_outcome& o) {
          // Our request could not be sent (or the peer refused it): its caller hears why.
          if (o.ok()) return;
          const call_key key{self->current_sender()->address(), o.id};
          fail_pending(self, key, reply::failed(status::unavailable, o.error.message()));
        },
        [](actors::progress_atom, actors::send_progress&) {},
        [self](actors::closed_atom, actors::connection_closed& c) { on_closed(self, c); },
        [self](call_atom, actors::connection_actor& conn, std::uint64_t id,
               actors::outgoing_message& msg, std::uint64_t timeout_ms,
               std::shared_ptr<pending_call>& pending) {
          auto& s = self->state;
          const call_key key{conn.address(), id};
          if (s.pending.size() >= s.limits.max_pending_calls)
            return pending->done(
                reply::failed(status::unavailable, "too many calls waiting for answers"));
          if (s.watched.insert(key.first).second) self->monitor(conn);
          const auto at = clock::now() + std::chrono::milliseconds{timeout_ms};
          s.pending.emplace(key, outgoing_call{std::move(pending), conn,
                                               add_deadline(self, at, deadline_of{true, key})});
          self->send(conn, actors::send_atom::value, id, std::move(msg));
          rearm(self);
        },
        [self](runner_idle_atom) {
          self->state.idle_runners.push_back(caf::actor_cast<caf::actor>(self->current_sender()));
        },
        [self](expire_atom, std::uint64_t generation) {
          auto& s = self->state;
          if (generation != s.tick_generation) return;  // superseded by an earlier tick
          s.armed.reset();
          for (const auto& due : s.timers.take_due(clock::now())) {
            s.timers.done(due.handle);
            auto d = s.deadlines.find(due.handle.id);
            if (d == s.deadlines.end()) continue;
            const auto what = d->second;
            s.deadlines.erase(d);
            if (what.outgoing) {
              auto p = s.pending.find(what.key);
              if (p == s.pending.end()) continue;
              p->second.deadline = {};
              withdraw(self, p->second.connection, what.key.second, {});
              fail_pending(self, what.key,
                           reply::failed(status::deadline_exceeded, "no answer in time"));
            } else if (auto a = s.active.find(what.key); a != s.active.end()) {
              auto call = a->second;
              call->deadline_task = {};
              call->cancelled = true;  // the caller gave up: a late answer is dropped
              report(self, event_names::cancelled, *call, status::deadline_exceeded,
                     "the caller's deadline passed");
              finish(self, call);
            }
          }
          admit_held(self);
          rearm(self);
        },
        [self](drain_calls_atom, caf::timespan deadline) -> caf::result<std::uint64_t> {
          auto& s = self->state;
          s.draining = true;
          if (s.active.empty()) return std::uint64_t{0};
          auto rp = self->make_response_promise<std::uint64_t>();
          s.drain_waiters.push_back(rp);
          self->delayed_send(self, deadline, drain_due_atom::value, ++s.drain_generation);
          return rp;
        },
        [self](drain_due_atom, std::uint64_t generation) {
          // The stop's deadline: what still runs is answered unavailable, its late answer dropped.
          auto& s = self->state;
          if (generation != s.drain_generation || s.drain_waiters.empty()) return;
          auto waiters = std::move(s.drain_waiters);
          s.drain_waiters.clear();
          std::vector<std::shared_ptr<call_state>> forced;
          for (auto& [key, call] : s.active) forced.push_back(call);
          for (auto& call : forced) {
            call->cancelled = true;
            if (call->wants_answer)
              answer(self, *call, response::error(status::unavailable, "the endpoint stopped"));
            report(self, event_names::cancelled, *call, status::unavailable,
                   "the endpoint stopped");
            finish(self, call);
          }
          for (auto& rp : waiters) rp.deliver(static_cast<std::uint64_t>(forced.size()));
          admit_held(self);
        },
        [self](resume_atom) { self->state.draining = false; },
        [self](respond_atom, std::shared_ptr<call_state>& call, std::uint16_t code,
               std::string& reason) {
          // The responder sent the answer itself (unless the call was cancelled meanwhile).
          auto& s = self->state;
          auto a = s.active.find({call->connection.address(), call->message.id});
          if (a == s.active.end() || a->second != call) return;  // cancelled or expired
          if (call->wants_answer)
            report(self, event_names::response, *call, static_cast<status>(code),
                   std::move(reason));
          finish(self, call);
          admit_held(self);
        },
    };
  });
}

}  // namespace netcore::app::detail
