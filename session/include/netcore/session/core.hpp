#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/reassembler.hpp>
#include <netcore/protocol/result.hpp>
#include <netcore/protocol/transform_codec.hpp>
#include <netcore/session/config.hpp>
#include <netcore/session/errors.hpp>
#include <netcore/session/events.hpp>
#include <netcore/session/outbound_scheduler.hpp>
#include <netcore/session/reliable_link.hpp>
#include <netcore/session/stats.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace netcore::session {

using clock = std::chrono::steady_clock;

/// A message body in memory, shared with the caller and never copied by the session.
using shared_body = std::shared_ptr<const protocol::byte_buffer>;

/// Hands out one side's outgoing message ids (1, 2, ...). A session may share it with threads
/// that give callers an id before the session sees their message.
struct id_source {
  std::atomic<std::uint64_t> next{1};
  /// `n` consecutive fresh ids; returns the first.
  std::uint64_t allocate(std::uint64_t n = 1) noexcept {
    return next.fetch_add(n, std::memory_order_relaxed);
  }
};

/// Where a session is in its life.
enum class session_state {
  handshake,  ///< Waiting for the peer's HELLO; messages queue but nothing of them is sent.
  open,       ///< Messages flow both ways.
  draining,   ///< Closing gracefully: no new messages; in-flight ones finish by a deadline.
  closing,    ///< Ended (a closed event was reported); last control frames are being written.
  closed,     ///< Ended and nothing left to write: the transport can be closed.
};

/// All protocol state of one connection, in plain C++: settings exchange, flow control both
/// ways, the outbound scheduler, keepalive and peer timeout, cancel both ways, GOAWAY with a
/// two-phase drain, and every limit against a hostile peer. No I/O, no threads, no clock: the
/// owner feeds bytes in (feed), writes batches out (next_batch / on_written), passes time in
/// (tick), and takes events out (poll). Nothing calls back into the owner; every method returns
/// after doing its work, and what it caused is queued as events (nghttp2's model).
///
/// Sending. send() queues a message whose body is in memory (a SINGLE frame when small enough
/// for the peer, else OPEN, DATA chunks, END, sliced lazily at batch time). open_stream() opens a
/// message whose body a producer pushes in chunks (push, finish); progress events tell the
/// producer how much was written, so it can stay a bounded window ahead. send() compresses a
/// body first where this side's transform_config enables it and the peer announced it
/// (may_transform()); the compressed body then travels like any other. Nothing but HELLO,
/// PING/PONG and control frames goes out before the peer's HELLO, so every setting the peer
/// announces governs every frame this side sends: frame size, both credits, concurrency, message
/// size and transforms.
///
/// Receiving. feed() decodes any split of the byte stream, reassembles messages (memory or spill
/// file, digest verified, transforms undone) and reports them as received events; their cost counts
/// against the delivery budget until acknowledge(). A peer that exceeds its credit, opens more
/// messages than announced, floods PINGs or control replies, or sends frames for messages it never
/// opened ends the connection with a GOAWAY carrying the wire code; bad input that concerns one
/// message fails that message only.
///
/// Thread safety: none; one owner drives it (an actor, an event loop callback, a test).
class core {
 public:
  /// A session starting at `now`. `ids` allocates outgoing ids (a private source when null).
  explicit core(session_config config, clock::time_point now,
                std::shared_ptr<id_source> ids = nullptr);
  ~core();
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  // -- sending -----------------------------------------------------------------------------------

  /// Queues a message with an in-memory body (null = empty) and returns its new id.
  /// Errors: runtime_errc::backpressure (queue bounds), runtime_errc::shutting_down (draining
  /// or closed locally), runtime_errc::peer_going_away, runtime_errc::closed (session ended),
  /// wire_errc::message_too_large (above the peer's max_message_size),
  /// wire_errc::metadata_too_large (OPEN would not fit the peer's max_frame_payload).
  protocol::result<std::uint64_t, std::error_code> send(protocol::message_meta meta,
                                                        shared_body body);
  /// True when send() would transform (compress) a body of `size` bytes: transforms.apply names
  /// one, the size is within transforms.min_size … max_size and, once the peer's HELLO is in, the
  /// peer accepts one of them and its max_decoded_size takes the size (before it, the answer
  /// assumes it will). A caller that streams large bodies (open_stream()) hands the ones for which
  /// this is true to send() whole instead: streamed bodies are never transformed.
  bool may_transform(std::uint64_t size) const noexcept;
  /// True when a message queuing `queued` bytes (its in-memory body plus message_overhead; a
  /// streamed message only the overhead) fits the outgoing queue's bounds now: send() and
  /// open_stream() would not answer runtime_errc::backpressure.
  bool has_room(std::uint64_t queued) const noexcept;
  /// As send(), under an id from the shared id_source, with a `cookie` of the caller's that comes
  /// back in the message's sent and progress events (e.g. what to release once it is written).
  /// Errors: also runtime_errc::duplicate_id.
  std::error_code send(std::uint64_t id, protocol::message_meta meta, shared_body body,
                       std::uint64_t cookie = 0);

  /// Opens a message whose body is pushed in chunks; `size` is the body size or
  /// protocol::unknown_size. Errors: as send().
  protocol::result<std::uint64_t, std::error_code> open_stream(protocol::message_meta meta,
                                                               std::uint64_t size);
  std::error_code open_stream(std::uint64_t id, protocol::message_meta meta, std::uint64_t size,
                              std::uint64_t cookie = 0);
  /// Appends `chunk` to the body of stream `id`; `owner` keeps the bytes alive and unchanged
  /// until they are written. Errors: runtime_errc::unknown_id (not an open stream, or it ended),
  /// wire_errc::size_mismatch (more bytes than declared; the message fails).
  std::error_code push(std::uint64_t id, protocol::byte_view chunk,
                       std::shared_ptr<const void> owner);
  /// Ends stream `id`: `digest` is the XXH3-64 of its whole body. Errors: runtime_errc::unknown_id,
  /// wire_errc::size_mismatch (fewer bytes than declared; the message fails).
  std::error_code finish(std::uint64_t id, protocol::digest64 digest);
  /// The producer of stream `id` gave up (e.g. its file became unreadable): the message fails
  /// with `reason` and the peer is told.
  void fail_stream(std::uint64_t id, std::error_code reason);
  /// Cancels outgoing message `id`: the peer is told if the message was opened, its outcome is
  /// wire_errc::cancelled. No-op once its END (or SINGLE frame) is in a batch, or when unknown.
  void cancel(std::uint64_t id);

  // -- receiving ---------------------------------------------------------------------------------

  /// Processes bytes from the transport (any split; the bytes are not kept after return).
  void feed(protocol::byte_view bytes, clock::time_point now);
  /// The application took delivered messages worth `cost` (see received::cost).
  void acknowledge(std::uint64_t cost) noexcept;
  /// False while the application holds more delivered cost than delivery_budget: the transport
  /// should stop reading until acknowledge() brings it back under (a peer within its credit is then
  /// throttled by the transport's own window, and what it sent is bounded by one read). While
  /// input is paused the peer's silence does not count against peer_timeout.
  bool accepts_input() const noexcept { return unacked_ <= config_.delivery_budget; }
  /// Abandons the incoming message `id`: the peer is told, its spill file removed, and a
  /// receive_failed event reports wire_errc::cancelled. Returns false when it is not open.
  bool cancel_incoming(std::uint64_t id);

  // -- writing -----------------------------------------------------------------------------------

  /// True when next_batch() may have something to write.
  bool wants_write() const noexcept;
  /// Builds the next batch: control frames first, then message frames by priority and deficit
  /// round robin, up to session_config::write_batch bytes. Returns its slices (empty when there
  /// is nothing to send); they stay valid until on_written() has accounted for every byte of
  /// this batch. Several batches may be outstanding; they must be written in order.
  const std::vector<protocol::io_slice>& next_batch();
  /// `n` more bytes of the outstanding batches were written, in order, at `now` (on a reliable
  /// link its retransmission timeouts start then; the time of the last feed or tick otherwise).
  void on_written(std::size_t n, clock::time_point now);
  void on_written(std::size_t n) { on_written(n, now_); }
  /// Keeps the batch next_batch() returned last alive (with the bodies it references) for as
  /// long as the returned handle lives: for writers on other threads, whose write may still be
  /// running when the session has moved on (or ended).
  std::shared_ptr<const void> last_batch_owner() const;
  /// Batches built and not yet accounted for (written in full, or on a reliable link
  /// acknowledged).
  std::size_t unwritten_batches() const noexcept { return outstanding_.size(); }
  /// True when a reliable link carries the frames (session_config::lossy with link.enabled).
  bool reliable() const noexcept { return link_ != nullptr; }

  // -- time --------------------------------------------------------------------------------------

  /// Sends keepalive PINGs, fails a silent peer (wire_errc::peer_timeout), a late handshake,
  /// idle incoming messages and a drain past its deadline.
  void tick(clock::time_point now);
  /// When tick() must run next, if ever.
  std::optional<clock::time_point> next_deadline() const;

  // -- lifecycle ---------------------------------------------------------------------------------

  /// Graceful close: accepts no new messages, sends what is queued, then GOAWAY; once both
  /// sides are drained the session closes cleanly (closed with an empty reason). At `deadline`
  /// whatever is still in flight fails with runtime_errc::drain_timeout.
  void shutdown(clock::time_point now, clock::time_point deadline);
  /// Ends the session now: every pending message fails with `reason`; a GOAWAY is queued (with
  /// `reason`'s wire code when it has one, else shutting_down) carrying `text` (at most 1024
  /// bytes travel) for the peer's people.
  void abort(std::error_code reason, std::string_view text = {});
  /// The transport ended (EOF, error, closed): a clean close if both sides had drained,
  /// otherwise every pending message fails with runtime_errc::disconnected and the closed event
  /// carries `reason`.
  void on_transport_closed(std::error_code reason);

  /// Where the session is.
  session_state state() const noexcept { return state_; }
  /// True once the transport should be closed: the session ended and its last frames are out.
  bool done() const noexcept { return state_ == session_state::closed; }
  /// Why the session ended (empty while it runs, or after a clean close).
  std::error_code close_reason() const noexcept { return close_reason_; }
  /// The text of the peer's GOAWAY (empty if it sent none, or none with text).
  const std::string& peer_goaway_text() const noexcept { return peer_goaway_text_; }

  // -- events and state --------------------------------------------------------------------------

  /// The next event, in the order they happened, or nothing.
  std::optional<event> poll();
  /// True when poll() has an event.
  bool has_events() const noexcept { return !events_.empty(); }
  /// The counters, with current gauges filled in.
  session_stats stats() const;
  /// The peer's settings (the defaults until handshake_complete()).
  const protocol::settings& peer_settings() const noexcept { return peer_; }
  /// True once the peer's HELLO arrived.
  bool handshake_complete() const noexcept { return peer_hello_; }
  /// The configuration.
  const session_config& config() const noexcept { return config_; }

 private:
  struct out_chunk {
    protocol::byte_view bytes;
    std::shared_ptr<const void> owner;
  };
  struct out_message;
  struct out_single;
  struct lane;
  struct in_message;
  struct control_frame;
  struct batch;

  // sending (core_send.cpp)
  std::size_t sched_quantum() const noexcept;
  std::uint64_t transforms_for(std::uint64_t size) const noexcept;
  void transform(shared_body& body, std::size_t meta_size, protocol::transform_chain& chain);
  std::error_code admit(std::uint64_t id, const protocol::message_meta& meta,
                        std::uint64_t body_size, std::uint64_t queued);
  void add_message(std::unique_ptr<out_message> m);
  bool fits_single(std::size_t head_size, std::size_t body_size) const noexcept;
  void enqueue_single(std::uint64_t id, protocol::message_meta meta, shared_body body,
                      std::uint64_t queued, std::uint64_t cookie,
                      const protocol::transform_chain& chain);
  flow_head head_of(std::uint64_t flow);
  void encode_head(std::uint64_t flow, batch& b);
  void encode_message_head(out_message& m, batch& b);
  std::size_t chunk_take(const out_message& m, std::size_t limit) const noexcept;
  void finish_message(std::uint64_t id, std::error_code reason);
  void release_queued(std::uint64_t bytes) noexcept;
  void release_opened(out_message& m);
  void settle(batch& b);
  void encode_control(batch& b);
  void apply_peer_settings(const protocol::settings& s);
  bool has_unopened() const;
  bool has_outgoing() const;

  // receiving (core_receive.cpp)
  void on_frame(const protocol::frame_view& f);
  void on_message_frame(const protocol::frame_view& f);
  void on_decode_error(const protocol::decode_result& r);
  void on_peer_cancel(std::uint64_t id, std::uint64_t code);
  void on_hello(const protocol::frame_view& f);
  void on_goaway(const protocol::frame_view& f);
  bool on_ping();
  void drain_reassembler(bool answer = true);
  void queue_cancel(std::uint64_t peer_id, protocol::errc reason);
  void count_processed(std::uint64_t wire_bytes) noexcept;
  bool grants_due() const noexcept;

  // frames without a link, or under it (core_send.cpp, core_receive.cpp)
  bool frames_want_write() const noexcept;
  const std::vector<protocol::io_slice>& build_batch(std::size_t limit);
  void account_written(std::size_t n);
  void feed_frames(protocol::byte_view bytes);
  bool nothing_to_write() const noexcept;

  // the reliable link (core_link.cpp)
  const std::vector<protocol::io_slice>& link_batch();
  void link_written(std::size_t n, clock::time_point now);
  void link_feed(protocol::byte_view bytes);
  void link_tick();
  static void deliver_frames(void* self, protocol::byte_view bytes);

  // lifecycle (core.cpp)
  void violation(protocol::errc code);
  void fail_all(std::error_code outgoing, std::error_code incoming);
  void end(std::error_code reason);
  void check_drained();
  void settle_through_goaway();
  void remember_sent(std::uint64_t id);
  void queue_control(control_frame c);
  void queue_goaway(protocol::errc code);
  void emit(event e);
  clock::time_point ping_due() const noexcept;
  bool peer_owes_bytes() const noexcept;
  void check_data_rate();

  session_config config_;
  std::shared_ptr<id_source> ids_;
  session_state state_ = session_state::handshake;
  std::error_code close_reason_;
  std::deque<event> events_;
  session_stats stats_;

  // -- send side --
  protocol::settings peer_;
  bool peer_hello_ = false;
  std::size_t chunk_limit_ = 0;   // body bytes per DATA frame: min(chunk_size, peer max frame)
  std::int64_t conn_credit_ = 0;  // wire bytes of message frames the peer lets us send
  std::size_t opened_ = 0;        // multi-frame messages opened on the wire, not yet ended
  std::uint64_t queued_bytes_ = 0;
  std::size_t queued_messages_ = 0;
  outbound_scheduler sched_;
  std::unordered_map<std::uint64_t, std::unique_ptr<out_message>> out_;
  std::unordered_map<std::uint64_t, std::unique_ptr<lane>> lanes_;
  std::deque<control_frame> control_;
  bool hello_sent_ = false;
  std::optional<std::uint64_t> pending_pong_;
  bool goaway_queued_ = false;
  bool goaway_written_ = false;
  std::deque<std::shared_ptr<batch>> outstanding_;
  // The ids of the latest messages written in full: a CANCEL from the peer for one of them is a
  // refusal that crossed the message's last bytes, reported as a second `sent`. Bounded.
  std::deque<std::uint64_t> recently_sent_;
  std::vector<std::shared_ptr<batch>> spare_;
  std::size_t written_in_front_ = 0;  // bytes of outstanding_.front() already written
  std::vector<protocol::io_slice> no_slices_;
  std::unique_ptr<reliable_link> link_;  // on lossy streams: carries the frames
  protocol::transform_codec codec_;      // applies transforms to outgoing bodies

  // -- receive side --
  bool tolerate_loss_ = false;  // lossy without a link: frames may vanish, repair credit
  protocol::decoder decoder_;
  protocol::reassembler reassembler_;
  std::unordered_map<std::uint64_t, in_message> in_;
  std::vector<std::uint64_t> grant_due_;  // peer message ids whose credit should be topped up
  std::uint64_t conn_granted_ = 0;        // wire bytes granted so far (initial included)
  std::uint64_t conn_received_ = 0;       // wire bytes of message frames received so far
  std::uint64_t conn_ungranted_ = 0;      // processed, not yet granted back
  std::uint64_t unacked_ = 0;             // delivered cost not yet acknowledged
  std::uint64_t highest_peer_id_ = 0;
  std::uint32_t unknown_frames_ = 0;
  bool peer_goaway_ = false;
  std::string peer_goaway_text_;
  std::string goaway_text_;  // what our GOAWAY says in words
  double ping_tokens_ = 0;
  clock::time_point ping_refill_{};

  // -- time --
  clock::time_point now_{};
  clock::time_point last_heard_{};
  clock::time_point next_ping_{};
  clock::time_point handshake_deadline_{};
  std::optional<clock::time_point> drain_deadline_;
  std::optional<clock::time_point> rate_window_start_;  // while the peer owes bytes
  std::uint64_t rate_window_bytes_ = 0;                 // bytes_in when the window began
};

}  // namespace netcore::session
