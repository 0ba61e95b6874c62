#pragma once

#include <caf/fwd.hpp>

#include <cstddef>

namespace netcore::actors {

/// CAF scheduler settings netcore applies to an actor_system_config (docs/BENCHMARKS.md shows
/// the measurements behind the defaults).
struct scheduler_settings {
  /// Worker threads for event-based actors (0 = CAF's default of max(4, cores)). Connections on
  /// descriptor transports run on the runtime's event-loop threads besides these.
  std::size_t workers = 2;
  /// Polls an idle worker makes, sleeping `moderate_sleep_us` between them, before it waits to be
  /// woken. CAF's default (500 × 50 µs) makes a round trip wait for sleeping workers; 0 lets idle
  /// workers go straight to a wakeable wait: lower latency and less idle CPU.
  std::size_t moderate_poll_attempts = 0;
  std::size_t moderate_sleep_us = 50;
  /// Busy polls an idle worker makes first (CAF's default 100). 10000 (about a millisecond of
  /// spinning after each burst of work) cut the idle request round trip from ~80 to ~50 µs here
  /// and left throughput unchanged (docs/BENCHMARKS.md).
  std::size_t aggressive_poll_attempts = 10000;
};

/// Prepares `cfg` for netcore: writes `s` (scheduler.max-threads, work-stealing.*) and registers
/// netcore's message types under their names ("netcore.outgoing_message", ...), so that CAF can
/// name, print and check them. Call before constructing the actor_system.
void apply(caf::actor_system_config& cfg, const scheduler_settings& s = {});

}  // namespace netcore::actors
