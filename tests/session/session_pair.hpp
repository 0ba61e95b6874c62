#pragma once

// Two session cores wired back to back in memory with a virtual clock, and a hand-driven peer
// that speaks raw frames: the harness of every session test. Nothing here sleeps or spawns a
// thread; every step is explicit, so every test is deterministic.

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/session/core.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace netcore::session::test {

using namespace std::chrono_literals;
using protocol::errc;
using protocol::frame_type;

/// A decoded frame as it travelled on the wire.
struct wire_frame {
  protocol::frame_header header;
  protocol::byte_buffer payload;
};

/// Decodes a captured byte stream into frames (every frame must verify).
inline std::vector<wire_frame> decode_all(const protocol::byte_buffer& bytes) {
  std::vector<wire_frame> out;
  protocol::limits lim;
  lim.max_frame_payload = protocol::max_wire_payload;
  protocol::decoder dec{lim};
  protocol::byte_view in{bytes};
  for (;;) {
    auto r = dec.next(in);
    if (r.status == protocol::decode_status::need_more) break;
    EXPECT_EQ(r.status, protocol::decode_status::frame) << protocol::to_string(r.error);
    if (r.status != protocol::decode_status::frame) continue;
    out.push_back({r.frame.header, {r.frame.payload.begin(), r.frame.payload.end()}});
  }
  return out;
}

/// One session and everything it reported.
struct side {
  side(session_config cfg, clock::time_point now) : core(std::move(cfg), now) {}
  session::core core;
  std::vector<received> messages;
  std::vector<receive_failed> failures;
  std::vector<sent> outcomes;
  std::vector<progress> progressed;
  std::vector<closed> closes;
  std::vector<peer_goaway> goaways;
  bool ready = false;
  /// Acknowledge deliveries at once (an application that keeps up).
  bool auto_ack = true;
  /// Every byte this side wrote, in order.
  protocol::byte_buffer wrote;
  /// The side closed its transport (its session was done).
  bool closed_transport = false;

  void drain_events() {
    while (auto e = core.poll()) {
      std::visit(
          [this](auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, received>) {
              if (auto_ack) core.acknowledge(ev.cost);
              messages.push_back(std::move(ev));
            } else if constexpr (std::is_same_v<T, receive_failed>) {
              failures.push_back(ev);
            } else if constexpr (std::is_same_v<T, sent>) {
              outcomes.push_back(ev);
            } else if constexpr (std::is_same_v<T, progress>) {
              progressed.push_back(ev);
            } else if constexpr (std::is_same_v<T, closed>) {
              closes.push_back(ev);
            } else if constexpr (std::is_same_v<T, peer_goaway>) {
              goaways.push_back(ev);
            } else if constexpr (std::is_same_v<T, peer_ready>) {
              ready = true;
            }
          },
          *e);
    }
  }

  /// The outcome reported for outgoing message `id`, if any.
  const sent* outcome(std::uint64_t id) const {
    for (const auto& o : outcomes)
      if (o.id == id) return &o;
    return nullptr;
  }
  /// The frames this side wrote.
  std::vector<wire_frame> frames() const { return decode_all(wrote); }
};

/// A shared body of `n` bytes with a recognisable pattern seeded by `seed`.
inline shared_body pattern(std::size_t n, std::uint8_t seed = 1) {
  auto b = std::make_shared<protocol::byte_buffer>(n);
  for (std::size_t i = 0; i < n; ++i) (*b)[i] = static_cast<std::uint8_t>(seed + i * 31 + i / 7);
  return b;
}

inline protocol::message_meta meta(std::string route, std::uint8_t priority = 0) {
  protocol::message_meta m;
  m.route = std::move(route);
  m.priority = priority;
  return m;
}

/// Two sessions back to back. pump() moves bytes both ways until nothing moves.
class session_pair {
 public:
  explicit session_pair(session_config a = {}, session_config b = {})
      : now_(clock::time_point{} + 1h), a_(std::move(a), now_), b_(std::move(b), now_) {}

  side& a() { return a_; }
  side& b() { return b_; }
  clock::time_point now() const { return now_; }

  /// Changes the bytes of each write on their way (the channel corrupts, drops, duplicates):
  /// a lossy line between the sides. Empty = a perfect channel.
  using channel_fault = std::function<void(protocol::byte_buffer& bytes)>;
  channel_fault fault_to_a;
  channel_fault fault_to_b;

  /// Bytes of one write at most (short writes), and whether each side reads at all.
  std::size_t max_write = SIZE_MAX;
  bool a_reads = true;
  bool b_reads = true;

  /// Moves bytes both ways until neither side has anything to write or nothing is read.
  void pump(int max_rounds = 100000) {
    for (int round = 0; round < max_rounds; ++round) {
      const bool ab = step(a_, b_, b_reads, to_b_);
      const bool ba = step(b_, a_, a_reads, to_a_);
      const bool moved = ab || ba;
      a_.drain_events();
      b_.drain_events();
      if (!moved) return;
    }
    ADD_FAILURE() << "pump did not settle";
  }

  /// Advances virtual time by `d` in steps of at most `step`, ticking both sides and pumping.
  void advance(clock::duration d, clock::duration step_size = 100ms) {
    while (d > clock::duration::zero()) {
      auto s = std::min(d, step_size);
      now_ += s;
      d -= s;
      a_.core.tick(now_);
      b_.core.tick(now_);
      pump();
    }
  }

  /// Feeds what is on its way to each side, without letting either write anything back.
  void deliver_pending() {
    for (auto* d : {&to_a_, &to_b_}) {
      side& to = d == &to_a_ ? a_ : b_;
      if (!d->pending.empty()) to.core.feed(protocol::byte_view{d->pending}, now_);
      d->pending.clear();
    }
    a_.drain_events();
    b_.drain_events();
  }

  /// Ends the transport under both sides (as a disconnect would).
  void disconnect(std::error_code why = runtime_errc::disconnected) {
    a_.core.on_transport_closed(why);
    b_.core.on_transport_closed(why);
    a_.drain_events();
    b_.drain_events();
  }

 private:
  /// Bytes on their way from one side to the other, and whether the writer closed after them.
  struct direction {
    protocol::byte_buffer pending;
    bool eof = false;
    bool eof_delivered = false;
  };

  // The reader takes what is pending (and the end of the stream after it).
  static bool deliver(side& to, bool reads, direction& d, clock::time_point now) {
    if (!reads) return false;
    bool moved = false;
    if (!d.pending.empty()) {
      to.core.feed(protocol::byte_view{d.pending}, now);
      d.pending.clear();
      moved = true;
    }
    if (d.eof && !d.eof_delivered) {
      d.eof_delivered = true;
      to.core.on_transport_closed(transport_eof());
      moved = true;
    }
    return moved;
  }

  // One side writes what it can; the other reads it if it reads at all.
  bool step(side& from, side& to, bool to_reads, direction& d) {
    bool moved = deliver(to, to_reads, d, now_);
    // A side whose peer does not read fills the "socket" once, then stops writing.
    for (int guard = 0; guard < 1000 && from.core.wants_write() && !d.eof; ++guard) {
      if (!to_reads && d.pending.size() >= (4u << 20)) break;
      const auto& slices = from.core.next_batch();
      if (slices.empty()) break;
      protocol::byte_buffer bytes;
      for (const auto& s : slices) {
        auto p = static_cast<const std::uint8_t*>(s.data);
        bytes.insert(bytes.end(), p, p + s.size);
      }
      // Written in pieces of at most max_write bytes, each accounted separately.
      const channel_fault& fault = &to == &a_ ? fault_to_a : fault_to_b;
      for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = std::min(max_write, bytes.size() - at);
        from.wrote.insert(from.wrote.end(), bytes.begin() + at, bytes.begin() + at + n);
        protocol::byte_buffer piece{bytes.begin() + at, bytes.begin() + at + n};
        if (fault) fault(piece);
        d.pending.insert(d.pending.end(), piece.begin(), piece.end());
        from.core.on_written(n);
        at += n;
      }
      moved = true;
      deliver(to, to_reads, d, now_);
    }
    if (from.core.done() && !from.closed_transport) {
      // A done session closes its transport: the peer sees the end after the last bytes.
      from.closed_transport = true;
      d.eof = true;
      deliver(to, to_reads, d, now_);
      moved = true;
    }
    return moved;
  }

  static std::error_code transport_eof() { return runtime_errc::disconnected; }

  clock::time_point now_;
  side a_;
  side b_;
  direction to_a_;
  direction to_b_;
};

/// A peer driven by hand: the test encodes frames with an encoder and feeds them to `core`.
class raw_peer {
 public:
  explicit raw_peer(session_config cfg = {})
      : now_(clock::time_point{} + 1h), core_(std::move(cfg), now_) {}

  session::core& core() { return core_; }
  clock::time_point now() const { return now_; }
  void advance(clock::duration d) {
    now_ += d;
    core_.tick(now_);
  }

  /// The encoder for the next frames; send() feeds what it holds.
  protocol::encoder& frames() { return enc_; }
  /// Feeds the encoded frames to the core and collects what the core writes back.
  void send() {
    protocol::byte_buffer bytes;
    enc_.flatten_into(bytes);
    enc_.clear();
    core_.feed(protocol::byte_view{bytes}, now_);
    collect();
  }
  /// Feeds raw bytes.
  void send_bytes(const protocol::byte_buffer& bytes) {
    core_.feed(protocol::byte_view{bytes}, now_);
    collect();
  }
  /// HELLO with `s`.
  void hello(const protocol::settings& s = {}) {
    enc_.hello(s);
    send();
  }
  /// Writes what the core has to send into `out()` and drains its events.
  void collect() {
    for (int guard = 0; guard < 1000 && core_.wants_write(); ++guard) {
      const auto& slices = core_.next_batch();
      if (slices.empty()) break;
      std::size_t n = 0;
      for (const auto& s : slices) {
        auto p = static_cast<const std::uint8_t*>(s.data);
        out_.insert(out_.end(), p, p + s.size);
        n += s.size;
      }
      core_.on_written(n);
    }
    while (auto e = core_.poll()) events_.push_back(std::move(*e));
  }

  /// Frames the core wrote so far.
  std::vector<wire_frame> written() const { return decode_all(out_); }
  /// Every event so far.
  const std::vector<event>& events() const { return events_; }
  /// The closed event's reason, if the session ended.
  std::optional<std::error_code> closed_reason() const {
    for (const auto& e : events_)
      if (auto c = std::get_if<closed>(&e)) return c->reason;
    return std::nullopt;
  }
  /// Events of type T.
  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events_)
      if (auto x = std::get_if<T>(&e)) out.push_back(*x);
    return out;
  }
  /// The argument of the GOAWAY the core wrote, if any.
  std::optional<errc> goaway_code() const {
    for (const auto& f : written())
      if (f.header.type == frame_type::goaway) return static_cast<errc>(f.header.argument);
    return std::nullopt;
  }

 private:
  clock::time_point now_;
  session::core core_;
  protocol::encoder enc_;
  protocol::byte_buffer out_;
  std::vector<event> events_;
};

}  // namespace netcore::session::test
