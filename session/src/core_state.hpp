#pragma once

// The private parts of session::core, shared by core.cpp, core_send.cpp and core_receive.cpp.

#include <netcore/session/core.hpp>

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace netcore::session {

/// An outgoing multi-frame message (memory body sliced at batch time, or pushed chunks).
struct core::out_message {
  std::uint64_t id = 0;
  protocol::message_meta meta;
  protocol::transform_chain chain;  // what made `body` out of the caller's (memory bodies only)
  std::size_t meta_size = 0;        // encoded transform and metadata bytes (the OPEN payload)
  bool stream = false;              // body pushed in chunks (else `body`)
  shared_body body;
  std::deque<out_chunk> chunks;  // stream: pushed, not yet all encoded
  std::size_t front_offset = 0;  // bytes of chunks.front() already encoded
  bool end_pushed = false;
  protocol::digest64 digest = 0;                    // stream: given by finish()
  std::unique_ptr<protocol::digest_state> running;  // memory: computed while encoding
  std::uint64_t total = protocol::unknown_size;     // body size (stream: unknown until finish)
  std::uint64_t pushed = 0;                         // stream: body bytes pushed so far
  std::uint64_t encoded = 0;                        // body bytes in batches
  std::uint64_t written = 0;                        // body bytes written
  std::int64_t credit = 0;                          // body bytes the peer lets it send
  std::uint64_t queued = 0;                         // bytes it holds in queued_bytes_
  std::uint64_t cookie = 0;                         // the caller's, back in its events
  bool opened = false;                              // OPEN is in a batch
  bool counted = false;                             // counts in opened_ (peer's concurrency)
  bool ended = false;                               // END is in a batch: too late to cancel
  bool stalled_on_credit = false;                   // counted one credit stall

  std::uint64_t available() const noexcept { return stream ? pushed - encoded : total - encoded; }
};

/// An outgoing message that travels as one SINGLE frame.
struct core::out_single {
  std::uint64_t id = 0;
  protocol::message_meta meta;
  protocol::transform_chain chain;
  std::size_t meta_size = 0;  // encoded transform and metadata bytes
  shared_body body;           // the wire bytes: the caller's, or what its transforms made
  std::uint64_t queued = 0;
  std::uint64_t cookie = 0;
};

/// A single-frame message once encoded: what its writing settles.
struct single_done {
  std::uint64_t id = 0;
  std::uint64_t queued = 0;
  std::uint64_t cookie = 0;
};

/// All single-frame messages of one priority level: one flow, in order.
struct core::lane {
  std::deque<out_single> items;
};

/// Flow-control accounting of one incoming multi-frame message.
struct core::in_message {
  std::uint64_t granted = 0;    // body bytes the peer may send (initial + grants)
  std::uint64_t received = 0;   // body bytes received
  std::uint64_t ungranted = 0;  // stored, not yet granted back
  bool due = false;             // listed in grant_due_
};

/// A control frame waiting for the next batch.
struct core::control_frame {
  protocol::frame_type type = protocol::frame_type::ping;
  std::uint64_t id = 0;
  std::uint64_t argument = 0;
  protocol::origin who = protocol::origin::local;
};

/// One batch of frames: the encoder's slices reference bodies kept alive by `owners` until the
/// batch is written; what its writing settles is listed alongside.
struct core::batch {
  protocol::encoder frames;
  std::vector<std::shared_ptr<const void>> owners;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> bodies;  // message id, DATA bytes
  std::vector<std::uint64_t> finished;                          // END in this batch
  std::vector<single_done> singles;
  bool goaway = false;  // carries our GOAWAY

  void clear() {
    frames.clear();
    owners.clear();
    bodies.clear();
    finished.clear();
    singles.clear();
    goaway = false;
  }
};

/// Flow ids of single-frame lanes: outside the message id space (ids never reach 2^63).
inline constexpr std::uint64_t lane_bit = std::uint64_t{1} << 63;
constexpr bool is_lane(std::uint64_t flow) noexcept {
  return (flow & lane_bit) != 0;
}
constexpr std::uint64_t lane_of(std::uint8_t priority) noexcept {
  return lane_bit | priority;
}

/// A partial DATA chunk goes out only when at least this much credit is there (or the whole
/// rest of the message fits): tiny frames on a credit-starved link would waste the stream.
inline constexpr std::size_t min_partial_chunk = 16u << 10;

}  // namespace netcore::session
