#include "dispatcher.hpp"

#include "chain.hpp"

#include <netcore/actors/interfaces.hpp>

#include <caf/all.hpp>

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
};

struct dispatcher_state {
  std::shared_ptr<routing_holder> routes;
  dispatcher_limits limits;
  std::map<call_key, std::shared_ptr<call_state>> active;  // requests being answered
  std::map<call_key, outgoing_call> pending;               // calls waiting for a response
  std::map<std::uint64_t, std::size_t> running;            // handler key → calls running
  std::set<caf::actor_addr> ended;                         // connections known to be gone
};

using dispatcher_ptr = caf::stateful_actor<dispatcher_state>*;

protocol::message_meta answer_meta(const call_state& c, const response& r) {
  protocol::message_meta m;
  m.route = c.message.meta.route;
  m.type = r.type;
  m.headers = r.headers;
  protocol::call_info info;
  info.what = protocol::call_info::kind::response;
  info.request_id = c.message.id;
  info.status = static_cast<std::uint16_t>(r.code);
  info.message = r.reason;
  m.call = std::move(info);
  return m;
}

void answer(dispatcher_ptr self, const call_state& c, response r) {
  actors::outgoing_message out;
  out.meta = answer_meta(c, r);
  out.bytes = std::make_shared<const protocol::byte_buffer>(std::move(r.body));
  self->send(c.connection, actors::send_atom::value, std::uint64_t{0}, std::move(out));
}

/// Runs the chain of `call` in an actor of its own (detached for a blocking route); whatever it
/// throws is answered by the error handlers, else status::internal with the text.
void run_handler(dispatcher_ptr self, std::shared_ptr<const routing> snapshot, resolution res,
                 bool blocking, const std::shared_ptr<call_state>& call) {
  auto rs = std::make_shared<responder_state>();
  rs->call = call;
  call->answering = rs;
  auto body = [snapshot = std::move(snapshot), res = std::move(res), call,
               rs](caf::event_based_actor* worker) mutable {
    run_chain(std::move(snapshot), std::move(res), call->make_request(call),
              call_state::make_responder(std::move(rs)));
    worker->quit();
  };
  if (blocking)
    self->system().spawn<caf::detached>(std::move(body));
  else
    self->system().spawn(std::move(body));
}

void finish(dispatcher_ptr self, const std::shared_ptr<call_state>& call) {
  auto& s = self->state;
  auto r = s.running.find(call->handler_key);
  if (r != s.running.end() && r->second > 0 && --r->second == 0) s.running.erase(r);
  s.active.erase({call->connection.address(), call->message.id});
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
  auto refuse = [&](status code, std::string why) {
    if (call->wants_answer) answer(self, *call, response::error(code, std::move(why)));
  };
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
    self->delayed_send(self, after, expire_in_atom::value, call);
  }
  s.active.emplace(call_key{conn.address(), call->message.id}, call);
  const bool blocking = entry->second.blocking;
  run_handler(self, std::move(snapshot), std::move(found), blocking, call);
}

void fail_pending(dispatcher_ptr self, const call_key& key, reply r) {
  auto& s = self->state;
  auto p = s.pending.find(key);
  if (p == s.pending.end()) return;
  auto pending = std::move(p->second.pending);
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

void on_delivery(dispatcher_ptr self, actors::delivery& d) {
  auto& s = self->state;
  auto conn = caf::actor_cast<actors::connection_actor>(self->current_sender());
  for (auto& m : d.messages) {
    if (!m.meta.call || m.meta.call->what == protocol::call_info::kind::request) {
      on_request(self, conn, std::move(m));
      continue;
    }
    const call_key key{conn.address(), m.meta.call->request_id};
    if (m.meta.call->what == protocol::call_info::kind::cancel) {
      // The caller withdrew its request: the handler can see it, its answer is dropped.
      if (auto a = s.active.find(key); a != s.active.end()) {
        a->second->cancelled = true;
        finish(self, a->second);
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
  // A request that failed on its way in (a limit, a digest) cannot be answered: its caller
  // learns of it through its own send's outcome (the CANCEL) or its deadline.
}

void on_closed(dispatcher_ptr self, const actors::connection_closed& c) {
  auto& s = self->state;
  const auto conn = self->current_sender() ? self->current_sender()->address() : caf::actor_addr{};
  s.ended.insert(conn);
  for (auto p = s.pending.begin(); p != s.pending.end();) {
    if (p->first.first != conn) {
      ++p;
      continue;
    }
    auto pending = std::move(p->second.pending);
    p = s.pending.erase(p);
    pending->done(reply::failed(status::unavailable, "connection closed: " + c.reason.message()));
  }
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
}

}  // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, std::shared_ptr<routing_holder> routes,
                            dispatcher_limits limits) {
  return sys.spawn([routes, limits](dispatcher_ptr self) -> caf::behavior {
    self->state.routes = routes;
    self->state.limits = limits;
    return {
        [self](actors::deliver_atom, actors::delivery& d) {
          on_delivery(self, d);
          return caf::ok_atom::value;
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
          if (s.ended.count(key.first) != 0)
            return pending->done(reply::failed(status::unavailable, "connection closed"));
          if (s.pending.size() >= s.limits.max_pending_calls)
            return pending->done(
                reply::failed(status::unavailable, "too many calls waiting for answers"));
          s.pending.emplace(key, outgoing_call{std::move(pending), conn});
          self->send(conn, actors::send_atom::value, id, std::move(msg));
          self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value,
                             conn, id);
        },
        [self](expire_atom, actors::connection_actor& conn, std::uint64_t id) {
          auto& s = self->state;
          auto p = s.pending.find({conn.address(), id});
          if (p == s.pending.end()) return;  // answered in time
          const auto route = std::string{};
          withdraw(self, conn, id, route);
          fail_pending(self, p->first, reply::failed(status::deadline_exceeded, "no answer in time"));
        },
        [self](expire_in_atom, std::shared_ptr<call_state>& call) {
          auto& s = self->state;
          auto a = s.active.find({call->connection.address(), call->message.id});
          if (a == s.active.end() || a->second != call) return;  // answered in time
          call->cancelled = true;  // the caller gave up: a late answer is dropped
          finish(self, call);
        },
        [self](respond_atom, std::shared_ptr<call_state>& call, response& r) {
          auto& s = self->state;
          auto a = s.active.find({call->connection.address(), call->message.id});
          if (a == s.active.end() || a->second != call) return;  // cancelled or expired
          if (call->wants_answer && !call->cancelled) answer(self, *call, std::move(r));
          finish(self, call);
        },
    };
  });
}

}  // namespace netcore::app::detail
