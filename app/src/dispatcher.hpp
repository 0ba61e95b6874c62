#pragma once

// The endpoint's dispatcher: one actor per endpoint that every served connection delivers to.
// It answers requests through the route table (each handler runs in an actor of its own, so
// many run at once on CAF's workers and none holds up the connection), matches responses to the
// calls this side made, and ends calls at their deadlines. Not installed.

#include "call_state.hpp"

#include <netcore/app/endpoint.hpp>
#include <netcore/app/events.hpp>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include <any>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>

namespace netcore::app::detail {

using call_atom = caf::atom_constant<caf::atom("ap_call")>;             // a call to make
using respond_atom = caf::atom_constant<caf::atom("ap_respond")>;       // a handler's answer
using expire_atom = caf::atom_constant<caf::atom("ap_expire")>;         // the deadline timer
using drain_calls_atom = caf::atom_constant<caf::atom("ap_drain")>;     // stop within a deadline
using drain_due_atom = caf::atom_constant<caf::atom("ap_draind")>;      // the stop's deadline
using resume_atom = caf::atom_constant<caf::atom("ap_resume")>;         // take calls again
using serve_atom = caf::atom_constant<caf::atom("ap_serve")>;           // a connection's state
using active_calls_atom = caf::atom_constant<caf::atom("ap_active")>;   // calls of a connection
using endpoint_stats_atom = caf::atom_constant<caf::atom("ap_stats")>;  // what it holds

/// The routes as the dispatcher reads them: replaced whole by the endpoint (atomic shared_ptr
/// load and store; readers never lock).
struct routing_holder {
  std::shared_ptr<const routing> load() const { return std::atomic_load(&current); }
  void store(std::shared_ptr<const routing> r) { std::atomic_store(&current, std::move(r)); }
  std::shared_ptr<const routing> current = std::make_shared<const routing>();
};

/// The connections an endpoint serves (attached and subscribed once each), shared by the
/// endpoint, which adds them, and the dispatcher, which removes them at their end: it holds
/// live connections only.
struct served_set {
  std::mutex mutex;
  std::set<caf::actor_addr> connections;
};

/// Bounds of the dispatcher (see endpoint_config).
struct dispatcher_limits {
  std::size_t max_active_calls = 65'536;
  std::size_t max_pending_calls = 65'536;
  std::uint64_t max_active_bytes = 0;      // admission budget, all connections (0: none)
  std::uint64_t max_connection_bytes = 0;  // admission budget per connection (0: none)
  events* ev = nullptr;  // where calls and ends are reported (endpoint_config::events)
};

/// Spawns the dispatcher of an endpoint. (active_calls_atom, actor_addr) → std::uint64_t: the
/// calls of one connection being answered or waiting; (endpoint_stats_atom) → endpoint_stats.
caf::actor spawn_dispatcher(caf::actor_system& sys, std::shared_ptr<routing_holder> routes,
                            std::shared_ptr<served_set> served, dispatcher_limits limits);

}  // namespace netcore::app::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::endpoint_stats)
