#pragma once

// Handler runners: actors kept by an endpoint's dispatcher that run one call's chain at a time,
// so a call does not pay for spawning an actor of its own. A runner busy with a slow handler is
// simply not idle; the dispatcher then uses another, or spawns a one-shot actor as before, so a
// slow handler still holds up no other call. Not installed.

#include "call_state.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>

namespace netcore::app::detail {

/// One call's chain to run: the routes it resolved against, what it resolved to, the call and
/// its responder's state.
struct runner_job {
  std::shared_ptr<const routing> snapshot;
  resolution res;
  std::shared_ptr<call_state> call;
  std::shared_ptr<responder_state> rs;
  /// Runs the chain on the calling thread (see run_chain()); the job is spent afterwards.
  void run();
};

using run_atom = caf::atom_constant<caf::atom("ap_run")>;           // dispatcher → runner
using runner_idle_atom = caf::atom_constant<caf::atom("ap_idle")>;  // runner → dispatcher

/// Spawns a runner for `dispatcher`: it runs each (run_atom, job) it gets, then tells the
/// dispatcher (runner_idle_atom) that it is free again. It quits when the dispatcher is gone.
caf::actor spawn_runner(caf::actor_system& sys, const caf::actor& dispatcher);

}  // namespace netcore::app::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<netcore::app::detail::runner_job>)
