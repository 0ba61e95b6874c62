#pragma once

// The connection actor: a thin typed shell around session::core. Its mailbox takes the public
// connection interface and the runtime's internal messages; every handler calls into the core,
// then pump() turns what the core reported into deliveries, outcomes and writes.

#include "inbox.hpp"
#include "internal.hpp"
#include "on_loop.hpp"
#include "send_gate.hpp"
#include "submission_queue.hpp"

#include <netcore/actors/config.hpp>
#include <netcore/session/core.hpp>
#include <netcore/transports/byte_stream.hpp>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace netcore::actors::detail {

/// How a connection ended, kept where its handle can read it after the actor is gone.
struct end_slot {
  std::mutex mutex;
  std::optional<connection_closed> closed;
  void set(const connection_closed& c) {
    std::lock_guard<std::mutex> guard{mutex};
    if (!closed) closed = c;
  }
  std::optional<connection_closed> get() {
    std::lock_guard<std::mutex> guard{mutex};
    return closed;
  }
  /// True the first time it is asked about `sink`: the one who asks then tells it of the end
  /// (the actor, or the handle's watcher when the actor was gone before the subscription came).
  bool first_telling(const caf::actor_addr& sink) {
    std::lock_guard<std::mutex> guard{mutex};
    if (std::find(told.begin(), told.end(), sink) != told.end()) return false;
    told.push_back(sink);
    return true;
  }
  std::vector<caf::actor_addr> told;
};

/// The peer's verified identity, recorded when its HELLO arrived (the transport's handshake is
/// complete by then), kept where its handle can read it.
struct identity_slot {
  std::mutex mutex;
  std::optional<transports::certificate_identity> identity;
  void set(std::optional<transports::certificate_identity> id) {
    std::lock_guard<std::mutex> guard{mutex};
    identity = std::move(id);
  }
  std::optional<transports::certificate_identity> get() {
    std::lock_guard<std::mutex> guard{mutex};
    return identity;
  }
};

/// What a connection actor is made of.
struct connection_params {
  /// The configuration, with every 0 ("take the transport profile") resolved.
  connection_config config;
  /// The transport; null only in tests that give a writer instead.
  std::shared_ptr<transports::byte_stream> stream;
  /// The loop it runs on when the stream is pollable; null: CAF's workers, and the stream is
  /// served by a reader and a writer thread.
  io_loop* loop = nullptr;
  /// Where producers of file bodies run (their reads block); null: CAF's workers.
  io_loop* file_loop = nullptr;
  std::shared_ptr<session::id_source> ids;
  /// The blocking senders' gate (connection::send), released as their bytes are written.
  std::shared_ptr<send_gate> gate;
  /// Where deliveries go while no delivery sink is attached (connection::receive); may be null.
  std::shared_ptr<inbox> box;
  delivery_sink sink;
  event_sink events;
  /// Tests: the writer to use instead of a thread of its own (no reader is started then).
  writer_actor test_writer;
  /// Called once the actor finished (the runtime's registry).
  std::function<void()> on_finished;
  /// Where the end of the connection is recorded for its handle; may be null.
  std::shared_ptr<end_slot> end;
  /// Where the peer's verified identity is recorded for its handle; may be null.
  std::shared_ptr<identity_slot> certificate;
  /// Messages of connection::send and try_send (taken on drain_atom); may be null.
  std::shared_ptr<submission_queue> queue;
};

class connection_impl;

/// How a connection reaches its bytes: polled on the event loop, or through reader and writer
/// threads. The wire feeds the core and writes its batches; the actor pumps afterwards.
class wire {
 public:
  virtual ~wire() = default;
  /// Starts reading.
  virtual void start() = 0;
  /// Writes what the core has to send, as far as the transport takes it now.
  virtual void flush() = 0;
  /// The event loop says the descriptor is readable / writable (polled wires).
  virtual void on_readable() {}
  virtual void on_writable() {}
  /// Nothing of the core's output is waiting for the transport.
  virtual bool idle() const = 0;
  /// flush() can write now (not waiting for writability, a writer slot free).
  virtual bool ready() const = 0;
  /// The session is done and its last bytes are out: end the writing direction (the peer then
  /// sees the end of the stream) and return true to read on until the peer's end or the linger
  /// time; false when the transport cannot half-close (the connection then closes at once).
  virtual bool finish() = 0;
  /// Closes the transport now.
  virtual void close() = 0;
  /// The core accepts input again after it paused it (see session::core::accepts_input()): a
  /// wire that stopped reading starts again. Called often; cheap when nothing was paused.
  virtual void resume_input() {}
  /// Wakes the actor with (tick_atom, wire_tick) at `at` (or soon after); a later call replaces
  /// the time. Returns false when the wire has no timer of its own (the actor then uses CAF's).
  virtual bool set_timer(session::clock::time_point at) {
    (void)at;
    return false;
  }
};

std::unique_ptr<wire> make_polled_wire(connection_impl& self);
std::unique_ptr<wire> make_threaded_wire(connection_impl& self);

/// The state of a connection actor (destroyed when the actor exits, on its own thread).
struct connection_state {
  connection_state(connection_params p, session::clock::time_point now);

  connection_params params;
  session::core core;
  std::unique_ptr<wire> io;
  delivery pending;  // decoded by the current pump, not yet handed over
  std::uint64_t pending_cost = 0;
  std::vector<std::uint64_t> pending_costs;  // per message (the inbox acknowledges one by one)
  // Reads of a reader thread held back while the core does not accept input.
  std::vector<std::pair<caf::typed_response_promise<read_buffer>, read_buffer>> held_reads;
  std::deque<std::pair<delivery, std::uint64_t>> waiting;  // for a sink to be attached
  std::vector<event_sink> event_sinks;
  /// The last messages taken from the submission queue (kept for its capacity).
  std::vector<submission_queue::item> drained;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<send_outcome>> replies;
  // Messages of (send_atom, wait_atom, ...) waiting for room in the outgoing queue, in order.
  std::deque<std::pair<std::uint64_t, outgoing_message>> waiting_sends;
  struct gated {
    std::size_t bytes = 0;
    gate_lane lane = gate_lane::small;
  };
  std::unordered_map<std::uint64_t, gated> gate_held;  // gated multi-frame messages
  std::size_t gate_release[2] = {0, 0};  // gate bytes to give back at the end of this pump
  std::unordered_map<std::uint64_t, producer_actor> producers;
  std::vector<caf::typed_response_promise<connection_closed>> close_replies;
  std::optional<session::clock::time_point> timer_at;
  std::uint64_t timer_generation = 0;
  bool flush_pending = false;  // a flush_atom is on its way to ourselves
  bool ended = false;          // the core reported closed
  bool finishing = false;      // the wire was told to finish
  bool linger_armed = false;
  std::string transport;
};

/// The connection actor itself.
class connection_impl final : public on_loop<connection_impl_actor::base> {
 public:
  using super = on_loop<connection_impl_actor::base>;
  connection_impl(caf::actor_config& cfg, connection_params params);

  behavior_type make_behavior() override;
  void on_exit() override;
  const char* name() const override { return "netcore.connection"; }

  connection_state& st() { return *state_; }
  session::clock::time_point now() { return clock().now(); }
  /// Turns what the core reported into deliveries, outcomes and writes, and keeps the timer.
  void pump();
  /// The transport ended under the core (read error, EOF, write error).
  void transport_failed(std::error_code reason);
  connection_impl_actor handle();

 private:
  void submit(std::uint64_t id, outgoing_message msg, bool gated);
  void spawn_producer(std::uint64_t id, outgoing_message msg, int fd);
  void on_sent(std::uint64_t id, std::error_code reason, std::uint64_t cookie);
  void release_gate(std::size_t bytes, gate_lane lane);
  void on_progress(const session::progress& p);
  void on_closed(std::error_code reason);
  /// Ends the connection now (abort_atom): pending messages fail with `reason`, the GOAWAY says
  /// `text`.
  void abort_now(std::error_code reason, std::string_view text);
  void hand_over();
  void deliver(delivery d, std::uint64_t cost);
  void schedule_timer();
  /// Submits what connection::send & co. queued (submission_queue).
  void drain_queue();
  /// Submits the waiting sends that fit the outgoing queue now, in order; once the connection
  /// ended, fails them all.
  void submit_waiting();
  /// True when `m` goes to the core whole (session::core::send()): small memory bodies, and
  /// memory bodies the core will compress (it compresses only bodies it has whole). The others
  /// are streamed by a producer.
  bool whole_in_core(const outgoing_message& m) const noexcept;
  /// What `m` costs the session's outgoing queue (session::core::has_room()).
  std::uint64_t queue_cost(const outgoing_message& m) const noexcept;
  /// After messages were queued: asks for the deferred flush, or runs pump() when needed.
  void after_submit();
  void request_flush();
  void quit_when_done();

  connection_params params_;
  std::unique_ptr<connection_state> state_;
};

/// Spawns a connection actor (on params.loop when set).
connection_impl_actor spawn_connection(caf::actor_system& sys, connection_params params);

/// The cost on the blocking senders' gate of `m`, and the account it is charged to.
std::size_t gate_cost(const outgoing_message& m) noexcept;
gate_lane gate_lane_for(const outgoing_message& m, std::size_t single_frame_max) noexcept;

}  // namespace netcore::actors::detail
