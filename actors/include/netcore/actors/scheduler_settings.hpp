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
  /// Busy polls an idle worker makes first (CAF's default, 100). Since connections run on the
  /// runtime's event loops, longer spinning no longer shortens a round trip: with 10000 (about a
  /// millisecond of spinning after each burst) the idle round trip (P6) was 42–45 µs against
  /// 37 µs, and with 10,000 connections (P7) spinning workers in two processes on 2 vCPUs pushed
  /// the p99 from 1–2 ms to 6–25 ms (docs/BENCHMARKS.md). Raise it only where workers own a core.
  std::size_t aggressive_poll_attempts = 100;
};

/// Prepares `cfg` for netcore: writes `s` (scheduler.max-threads, work-stealing.*) and registers
/// netcore's message types under their names ("netcore.outgoing_message", ...), so that CAF can
/// name, print and check them. Call before constructing the actor_system.
void apply(caf::actor_system_config& cfg, const scheduler_settings& s = {});

}  // namespace netcore::actors
