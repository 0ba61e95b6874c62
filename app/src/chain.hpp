#pragma once

// The order in which everything around a handler runs (app/handlers.hpp): middleware as an onion,
// before hooks outer to inner, the handler, after hooks inner to outer on the answer, error
// handlers inner to outer for an exception anywhere in the chain. Not installed.

#include "call_state.hpp"

namespace netcore::app::detail {

/// Runs the chain `res` resolved to (its ids name functions in `snapshot`) for `req`, answering
/// through `rs`. Runs on the calling thread up to the first asynchronous step (a middleware that
/// calls `next` later, a handler that answers later).
void run_chain(std::shared_ptr<const routing> snapshot, resolution res, request req, responder rs);

}  // namespace netcore::app::detail
