#include <netcore/actors/scheduler_settings.hpp>

#include <caf/actor_system_config.hpp>

#include <chrono>

namespace netcore::actors {

void apply(caf::actor_system_config& cfg, const scheduler_settings& s) {
  if (s.workers > 0) cfg.set("scheduler.max-threads", s.workers);
  cfg.set("work-stealing.aggressive-poll-attempts", s.aggressive_poll_attempts);
  cfg.set("work-stealing.moderate-poll-attempts", s.moderate_poll_attempts);
  cfg.set("work-stealing.moderate-sleep-duration",
          caf::timespan{std::chrono::microseconds{s.moderate_sleep_us}});
}

}  // namespace netcore::actors
