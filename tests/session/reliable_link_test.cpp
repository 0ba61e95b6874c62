// The reliable link on its own: two links back to back over a channel the test controls (drop
// a packet, drop an acknowledgement, duplicate, cut), in virtual time.

#include <netcore/session/reliable_link.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <vector>

namespace netcore::session {
namespace {

using namespace std::chrono_literals;
using clock = reliable_link::clock;

protocol::byte_buffer stream_bytes(std::size_t n, std::uint8_t seed) {
  protocol::byte_buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13 + i / 251);
  return b;
}

/// One end: its link and the in-order bytes it received.
struct end {
  explicit end(link_config c) : link(c) {}
  reliable_link link;
  protocol::byte_buffer received;
  std::uint64_t acked = 0;
  static void sink(void* self, protocol::byte_view b) {
    auto& r = static_cast<end*>(self)->received;
    r.insert(r.end(), b.begin(), b.end());
  }
};

/// Two links and a channel: `filter` decides, per written batch, what reaches the other end.
struct pair {
  explicit pair(link_config c = {}) : a(c), b(c) {}
  end a, b;
  clock::time_point now = clock::time_point{} + 1h;
  /// Called with (sender, batch bytes); may change or clear them.
  std::function<void(const end& from, protocol::byte_buffer& bytes)> filter;

  /// One end writes everything it wants to; the other end reads it.
  bool step(end& from, end& to) {
    bool moved = false;
    while (from.link.wants_write()) {
      const auto& slices = from.link.next_batch();
      if (slices.empty()) break;
      protocol::byte_buffer bytes;
      std::size_t n = 0;
      for (const auto& s : slices) {
        auto p = static_cast<const std::uint8_t*>(s.data);
        bytes.insert(bytes.end(), p, p + s.size);
        n += s.size;
      }
      from.link.on_written(n, now);
      if (filter) filter(from, bytes);
      to.link.feed(bytes, now, &end::sink, &to);
      to.acked += to.link.take_acked();
      moved = true;
    }
    return moved;
  }
  void pump() {
    for (int i = 0; i < 10000; ++i) {
      const bool ab = step(a, b);
      const bool ba = step(b, a);
      if (!ab && !ba) return;
    }
    ADD_FAILURE() << "pump did not settle";
  }
  void advance(clock::duration d, clock::duration by = 10ms) {
    for (clock::duration t{0}; t < d; t += by) {
      now += by;
      a.link.tick(now);
      b.link.tick(now);
      pump();
    }
  }
  void send(end& from, const protocol::byte_buffer& bytes) {
    from.link.submit({{bytes.data(), bytes.size()}});
  }
};

link_config small_packets() {
  link_config c;
  c.packet_payload = 100;
  c.window = 8;
  return c;
}

TEST(reliable_link, a_clean_channel_carries_the_bytes_in_order_and_acknowledges_them) {
  pair p{small_packets()};
  auto data = stream_bytes(650, 1);
  p.send(p.a, data);
  p.pump();
  EXPECT_EQ(p.b.received, data);
  EXPECT_EQ(p.b.acked, 0u);
  EXPECT_EQ(p.a.link.take_acked(), 0u);  // the pair collected it already
  EXPECT_TRUE(p.a.link.idle());
  EXPECT_EQ(p.a.link.stats().packets_sent, 7u);
  EXPECT_EQ(p.a.link.stats().retransmissions, 0u);
  EXPECT_EQ(p.b.link.stats().packets_received, 7u);
}

TEST(reliable_link, acknowledged_bytes_are_reported_once_in_order) {
  pair p{small_packets()};
  auto data = stream_bytes(250, 2);
  p.send(p.a, data);
  p.pump();
  // a's acknowledgements were taken by the pair's step() into a.acked.
  EXPECT_EQ(p.a.acked, 250u);
}

TEST(reliable_link, a_lost_packet_is_sent_again_as_soon_as_a_later_one_arrives) {
  pair p{small_packets()};
  int batch = 0;
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    // Destroy the third packet of a's first batch (each packet: header + 100 bytes).
    if (&from != &p.a || batch++ != 0) return;
    const std::size_t pk = link_header_size + 100;
    for (std::size_t i = 2 * pk + 10; i < 3 * pk; ++i) bytes[i] ^= 0x5A;
  };
  auto data = stream_bytes(600, 3);
  p.send(p.a, data);
  p.pump();  // no time passes: the sack of packets 4..6 triggers the retransmission
  EXPECT_EQ(p.b.received, data);
  EXPECT_EQ(p.a.link.stats().retransmissions, 1u);
  EXPECT_TRUE(p.a.link.idle());
}

TEST(reliable_link, a_lost_last_packet_is_sent_again_at_its_timeout) {
  pair p{small_packets()};
  bool dropped = false;
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    if (&from == &p.a && !dropped) {
      dropped = true;
      bytes.clear();
    }
  };
  auto data = stream_bytes(80, 4);
  p.send(p.a, data);
  p.pump();
  EXPECT_TRUE(p.b.received.empty());
  ASSERT_TRUE(p.a.link.next_deadline().has_value());
  EXPECT_EQ(*p.a.link.next_deadline(), p.now + small_packets().initial_rto);
  p.advance(250ms);
  EXPECT_EQ(p.b.received, data);
  EXPECT_EQ(p.a.link.stats().retransmissions, 1u);
  EXPECT_TRUE(p.a.link.idle());
}

TEST(reliable_link, a_lost_acknowledgement_costs_a_duplicate_that_is_taken_once) {
  pair p{small_packets()};
  bool dropped = false;
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    if (&from == &p.b && !dropped) {
      dropped = true;
      bytes.clear();
    }
  };
  auto data = stream_bytes(150, 5);
  p.send(p.a, data);
  p.pump();
  EXPECT_EQ(p.b.received, data);
  EXPECT_FALSE(p.a.link.idle());
  p.advance(300ms);
  EXPECT_EQ(p.b.received, data);  // not twice
  // Only the oldest packet is sent again at the timeout: its acknowledgement covers both.
  EXPECT_EQ(p.b.link.stats().duplicates, 1u);
  EXPECT_EQ(p.a.link.stats().retransmissions, 1u);
  EXPECT_TRUE(p.a.link.idle());
}

TEST(reliable_link, duplicated_bytes_deliver_nothing_twice) {
  pair p{small_packets()};
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    if (&from != &p.a) return;
    protocol::byte_buffer twice = bytes;
    twice.insert(twice.end(), bytes.begin(), bytes.end());
    bytes = twice;
  };
  auto data = stream_bytes(420, 6);
  p.send(p.a, data);
  p.pump();
  EXPECT_EQ(p.b.received, data);
  EXPECT_GE(p.b.link.stats().duplicates, 5u);
}

TEST(reliable_link, no_more_than_the_window_is_unacknowledged) {
  pair p{small_packets()};
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    if (&from == &p.b) bytes.clear();  // no acknowledgement ever arrives
  };
  EXPECT_EQ(p.a.link.room(), 800u);
  auto data = stream_bytes(2000, 7);
  p.send(p.a, data);
  EXPECT_EQ(p.a.link.room(), 0u);
  p.pump();
  EXPECT_EQ(p.a.link.stats().packets_sent, 8u);  // the window, not the 20 packets
  EXPECT_EQ(p.b.received.size(), 800u);
}

TEST(reliable_link, timeouts_double_and_the_link_fails_after_its_retries) {
  link_config c = small_packets();
  c.max_retries = 3;
  c.initial_rto = 100ms;
  pair p{c};
  p.filter = [&](const end& from, protocol::byte_buffer& bytes) {
    if (&from == &p.a) bytes.clear();  // the line is cut
  };
  p.send(p.a, stream_bytes(50, 8));
  p.pump();
  std::vector<clock::duration> gaps;
  auto last = p.now;
  while (!p.a.link.failed() && gaps.size() < 10) {
    auto at = p.a.link.next_deadline();
    ASSERT_TRUE(at.has_value());
    gaps.push_back(*at - last);
    p.now = *at;
    last = *at;
    p.a.link.tick(p.now);
    p.pump();
  }
  EXPECT_TRUE(p.a.link.failed());
  ASSERT_EQ(gaps.size(), 4u);  // the first send and three retries
  EXPECT_EQ(gaps[0], 100ms);
  EXPECT_EQ(gaps[1], 200ms);
  EXPECT_EQ(gaps[2], 400ms);
  EXPECT_EQ(gaps[3], 800ms);
  EXPECT_EQ(p.a.link.stats().retransmissions, 3u);
}

TEST(reliable_link, the_timeout_follows_the_round_trip_and_never_drops_below_the_line_rate) {
  link_config c = small_packets();
  c.min_rto = 1ms;
  pair fast{c};
  fast.send(fast.a, stream_bytes(100, 9));
  fast.pump();  // round trip 0 in virtual time: the timeout falls to its minimum
  EXPECT_EQ(fast.a.link.stats().rto, std::chrono::microseconds{1000});

  c.bytes_per_second = 1000;  // 2 packets of 128 bytes take 256 ms at this rate
  pair slow{c};
  slow.send(slow.a, stream_bytes(100, 9));
  slow.pump();
  EXPECT_EQ(slow.a.link.stats().rto, std::chrono::microseconds{256'000});
}

TEST(reliable_link, packets_flow_both_ways_with_piggybacked_acknowledgements) {
  pair p{small_packets()};
  auto ab = stream_bytes(700, 10);
  auto ba = stream_bytes(700, 11);
  p.send(p.a, ab);
  p.send(p.b, ba);
  p.pump();
  EXPECT_EQ(p.b.received, ab);
  EXPECT_EQ(p.a.received, ba);
  EXPECT_TRUE(p.a.link.idle());
  EXPECT_TRUE(p.b.link.idle());
}

}  // namespace
}  // namespace netcore::session
