#include <netcore/app/events.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <vector>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::event_handler)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::any)

namespace netcore::app {

namespace {

using on_atom = caf::atom_constant<caf::atom("ev_on")>;
using off_atom = caf::atom_constant<caf::atom("ev_off")>;
using emit_atom = caf::atom_constant<caf::atom("ev_emit")>;

struct handler_entry {
  std::uint64_t id = 0;
  bool once = false;
  event_handler fn;
};

struct events_state {
  events_config config;
  std::map<std::string, std::vector<handler_entry>> handlers;  // in subscription order
  std::map<std::uint64_t, std::string> names;                  // subscription → event name
};

using events_ptr = caf::stateful_actor<events_state>*;

void deliver(events_ptr self, const event& e) {
  auto& s = self->state;
  auto found = s.handlers.find(e.name);
  if (found == s.handlers.end()) return;
  // A handler may subscribe or unsubscribe (messages: they take effect after this event); the
  // list is copied so that once-handlers can be removed as they run.
  const auto run = found->second;
  std::vector<event_failure> failures;
  for (const auto& h : run) {
    if (h.once) {
      auto& list = s.handlers[e.name];
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const handler_entry& x) { return x.id == h.id; }),
                 list.end());
      s.names.erase(h.id);
    }
    try {
      h.fn(e);
    } catch (const std::exception& x) {
      failures.push_back({e.name, h.id, x.what()});
    } catch (...) {
      failures.push_back({e.name, h.id, "a non-standard exception"});
    }
  }
  if (auto l = s.handlers.find(e.name); l != s.handlers.end() && l->second.empty())
    s.handlers.erase(l);
  // A failing handler of "error" itself is not reported again (no loop).
  if (e.name == event_names::error) return;
  for (auto& f : failures)
    self->send(self, emit_atom::value, std::string{event_names::error}, std::any{std::move(f)});
}

}  // namespace

events::events(caf::actor_system& sys, events_config config) {
  actor_ = sys.spawn([config](events_ptr self) -> caf::behavior {
    self->state.config = config;
    return {
        [self](on_atom, std::uint64_t id, std::string& name, bool once, event_handler& fn) {
          auto& s = self->state;
          if (s.names.size() >= s.config.max_subscriptions) {
            // Refused, and said so: the subscriber's handle stays unanswered otherwise.
            self->send(self, emit_atom::value, std::string{event_names::error},
                       std::any{event_failure{name, id, "too many subscriptions"}});
            return;
          }
          s.names.emplace(id, name);
          s.handlers[name].push_back({id, once, std::move(fn)});
        },
        [self](off_atom, std::uint64_t id) {
          auto& s = self->state;
          auto n = s.names.find(id);
          if (n == s.names.end()) return;
          auto& list = s.handlers[n->second];
          list.erase(std::remove_if(list.begin(), list.end(),
                                    [&](const handler_entry& h) { return h.id == id; }),
                     list.end());
          if (list.empty()) s.handlers.erase(n->second);
          s.names.erase(n);
        },
        [self](emit_atom, std::string& name, std::any& payload) {
          deliver(self, event{std::move(name), std::move(payload)});
        },
    };
  });
}

events::~events() {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

subscription events::on(std::string name, event_handler h) {
  if (!h) return {};
  const auto id = ++next_id_;
  caf::anon_send(actor_, on_atom::value, id, std::move(name), false, std::move(h));
  return {id};
}

subscription events::once(std::string name, event_handler h) {
  if (!h) return {};
  const auto id = ++next_id_;
  caf::anon_send(actor_, on_atom::value, id, std::move(name), true, std::move(h));
  return {id};
}

void events::off(subscription s) {
  if (s.valid()) caf::anon_send(actor_, off_atom::value, s.id);
}

void events::emit(std::string name, std::any payload) {
  caf::anon_send(actor_, emit_atom::value, std::move(name), std::move(payload));
}

}  // namespace netcore::app
