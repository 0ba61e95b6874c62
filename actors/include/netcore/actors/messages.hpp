#pragma once

// The typed messages the runtime's actors exchange. Include only in actor code: it pulls in CAF.

#include <netcore/actors/outbound_scheduler.hpp>
#include <netcore/actors/outgoing.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/reassembler.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>
#include <vector>

namespace netcore::actors {

/// A batch of frames handed to the writer: the encoder's slices reference bytes kept alive by
/// `owners` until the write completes.
struct write_job {
  std::uint64_t sequence = 0;
  protocol::encoder frames;
  /// Leading bytes of `frames` already written (by the link's inline attempt).
  std::size_t skip = 0;
  std::vector<std::shared_ptr<const void>> owners;
  /// Per outgoing message: body bytes in this batch (credit returned to message actors).
  std::vector<std::pair<std::uint64_t, std::size_t>> body_bytes;
  /// Multi-frame messages whose END is in this batch: sent in full once written.
  std::vector<std::uint64_t> finished;
  /// Single-frame messages in this batch and their gate bytes.
  std::vector<std::pair<std::uint64_t, std::size_t>> singles;
};
using write_job_ptr = std::shared_ptr<write_job>;

/// Bytes read from the transport (a reused buffer and how much of it is filled).
struct read_buffer {
  std::shared_ptr<protocol::byte_buffer> bytes;
  std::size_t size = 0;
};

/// A failed incoming message.
struct incoming_failure {
  std::uint64_t id = 0;
  protocol::errc error = protocol::errc::ok;
};

/// What the receiver hands to the application: complete messages in completion order and
/// incoming messages that failed. Acknowledge (reply ok) to release the delivery budget.
struct delivery {
  std::vector<protocol::incoming_message> messages;
  std::vector<incoming_failure> failures;
  /// Body bytes held in memory by `messages` (what the acknowledgement releases).
  std::uint64_t memory_bytes = 0;
};
using delivery_ptr = std::shared_ptr<delivery>;

/// A shared list of messages to send in one actor message (amortises mailbox cost).
using outgoing_batch = std::shared_ptr<std::vector<outgoing_message>>;

// -- atoms (at most 10 characters) --------------------------------------------------------------

using send_atom = caf::atom_constant<caf::atom("nc_send")>;
using chunk_atom = caf::atom_constant<caf::atom("nc_chunk")>;
using window_atom = caf::atom_constant<caf::atom("nc_window")>;
using write_atom = caf::atom_constant<caf::atom("nc_write")>;
using written_atom = caf::atom_constant<caf::atom("nc_written")>;
using read_atom = caf::atom_constant<caf::atom("nc_read")>;
using bytes_atom = caf::atom_constant<caf::atom("nc_bytes")>;
using credit_atom = caf::atom_constant<caf::atom("nc_credit")>;
using grant_atom = caf::atom_constant<caf::atom("nc_grant")>;
using ping_atom = caf::atom_constant<caf::atom("nc_ping")>;
using pong_atom = caf::atom_constant<caf::atom("nc_pong")>;
using hello_atom = caf::atom_constant<caf::atom("nc_hello")>;
using goaway_atom = caf::atom_constant<caf::atom("nc_goaway")>;
using cancel_atom = caf::atom_constant<caf::atom("nc_cancel")>;
using peer_cancel_atom = caf::atom_constant<caf::atom("nc_pcancel")>;
using in_cancel_atom = caf::atom_constant<caf::atom("nc_icancel")>;
using fail_atom = caf::atom_constant<caf::atom("nc_fail")>;
using deliver_atom = caf::atom_constant<caf::atom("nc_deliver")>;
using outcome_atom = caf::atom_constant<caf::atom("nc_outcome")>;
using closed_atom = caf::atom_constant<caf::atom("nc_closed")>;
using tick_atom = caf::atom_constant<caf::atom("nc_tick")>;
using close_atom = caf::atom_constant<caf::atom("nc_close")>;
using progress_atom = caf::atom_constant<caf::atom("nc_progres")>;
using flush_atom = caf::atom_constant<caf::atom("nc_flush")>;
using wire_atom = caf::atom_constant<caf::atom("nc_wire")>;
using stats_atom = caf::atom_constant<caf::atom("nc_stats")>;

}  // namespace netcore::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::outgoing_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::outgoing_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::outbound_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::write_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::read_buffer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::delivery_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::send_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::send_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::protocol::settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::protocol::errc)
