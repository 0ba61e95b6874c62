#include <netcore/actors/scheduler_settings.hpp>

#include "internal.hpp"

#include <caf/actor_system_config.hpp>

#include <chrono>

namespace netcore::actors {

void apply(caf::actor_system_config& cfg, const scheduler_settings& s) {
  if (s.workers > 0) cfg.set("scheduler.max-threads", s.workers);
  cfg.set("work-stealing.aggressive-poll-attempts", s.aggressive_poll_attempts);
  cfg.set("work-stealing.moderate-poll-attempts", s.moderate_poll_attempts);
  cfg.set("work-stealing.moderate-sleep-duration",
          caf::timespan{std::chrono::microseconds{s.moderate_sleep_us}});
  // Public message types.
  cfg.add_message_type<outgoing_message>("netcore.outgoing_message");
  cfg.add_message_type<outgoing_batch>("netcore.outgoing_batch");
  cfg.add_message_type<send_outcome>("netcore.send_outcome");
  cfg.add_message_type<send_progress>("netcore.send_progress");
  cfg.add_message_type<incoming_failure>("netcore.incoming_failure");
  cfg.add_message_type<delivery>("netcore.delivery");
  cfg.add_message_type<connection_closed>("netcore.connection_closed");
  cfg.add_message_type<connection_stats>("netcore.connection_stats");
  cfg.add_message_type<protocol::incoming_message>("netcore.incoming_message");
  cfg.add_message_type<protocol::message_meta>("netcore.message_meta");
  cfg.add_message_type<protocol::header_field>("netcore.header_field");
  cfg.add_message_type<delivery_sink>("netcore.delivery_sink");
  cfg.add_message_type<event_sink>("netcore.event_sink");
  cfg.add_message_type<connection_actor>("netcore.connection_actor");
  // The runtime's own.
  cfg.add_message_type<detail::produced_chunk>("netcore.produced_chunk");
  cfg.add_message_type<detail::read_buffer>("netcore.read_buffer");
  cfg.add_message_type<detail::write_job>("netcore.write_job");
}

}  // namespace netcore::actors
