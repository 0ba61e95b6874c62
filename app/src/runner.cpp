#include "runner.hpp"

#include "chain.hpp"

#include <caf/all.hpp>

namespace netcore::app::detail {

void runner_job::run() {
  auto req = call->make_request(call);
  run_chain(std::move(snapshot), std::move(res), std::move(req),
            call_state::make_responder(std::move(rs)));
  call.reset();
}

namespace {

caf::behavior runner(caf::event_based_actor* self, caf::actor dispatcher) {
  self->monitor(dispatcher);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
      [self, dispatcher](run_atom, std::shared_ptr<runner_job>& job) {
        job->run();
        job.reset();
        self->send(dispatcher, runner_idle_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_runner(caf::actor_system& sys, const caf::actor& dispatcher) {
  return sys.spawn(runner, dispatcher);
}

}  // namespace netcore::app::detail
