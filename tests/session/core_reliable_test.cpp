// Sessions on a lossy stream, carried by the reliable link: whatever the line does to the bytes
// (flips, drops, duplicates), every message arrives intact exactly once, or both sides get a
// typed failure; an outcome means "the peer has it". (The core's side of it: core_link.cpp; the
// link alone: reliable_link_test.cpp.)

#include "session_pair.hpp"

#include <random>
#include <set>

namespace netcore::session::test {
namespace {

session_config lossy_config() {
  session_config c;
  c.lossy = true;
  c.chunk_size = 4096;
  return c;
}

/// A line that flips bits, loses runs of bytes and repeats runs, under a seed.
struct noisy_line {
  noisy_line(std::uint64_t seed, double flip_per_byte, double drop_per_write = 0,
             double duplicate_per_write = 0)
      : rng(seed), flip(flip_per_byte), drop(drop_per_write), dup(duplicate_per_write) {}
  std::mt19937_64 rng;
  double flip, drop, dup;
  std::uint64_t flips = 0;

  void operator()(protocol::byte_buffer& bytes) {
    std::uniform_real_distribution<double> u{0, 1};
    if (bytes.empty()) return;
    if (flip > 0) {
      // Geometric gaps between flipped bytes: exact rate, cheap for long buffers.
      std::geometric_distribution<std::size_t> gap{flip};
      for (std::size_t at = gap(rng); at < bytes.size(); at += 1 + gap(rng)) {
        bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        ++flips;
      }
    }
    if (drop > 0 && u(rng) < drop) {
      const std::size_t at = rng() % bytes.size();
      const std::size_t n = std::min<std::size_t>(1 + rng() % 300, bytes.size() - at);
      bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                  bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
    if (dup > 0 && !bytes.empty() && u(rng) < dup) {
      const std::size_t at = rng() % bytes.size();
      const std::size_t n = std::min<std::size_t>(1 + rng() % 3000, bytes.size() - at);
      protocol::byte_buffer again{bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                  bytes.begin() + static_cast<std::ptrdiff_t>(at + n)};
      bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at + n), again.begin(), again.end());
    }
  }
};

std::string route_for(char side, std::size_t i, std::size_t size) {
  return std::string{"m/"} + side + "/" + std::to_string(i) + "/" + std::to_string(size);
}

/// Runs until every message has an outcome on its sender (or `limit` of virtual time passed).
void run_until_settled(session_pair& p, std::size_t a_sent, std::size_t b_sent,
                       clock::duration limit = 600s) {
  p.pump();
  for (clock::duration t{0}; t < limit; t += 50ms) {
    if (p.a().outcomes.size() >= a_sent && p.b().outcomes.size() >= b_sent) return;
    p.advance(50ms, 50ms);
  }
}

void expect_all_delivered(const side& to, char from, const std::vector<std::size_t>& sizes) {
  std::set<std::string> seen;
  for (const auto& m : to.messages) {
    const auto& route = m.message.meta.route;
    EXPECT_TRUE(seen.insert(route).second) << "delivered twice: " << route;
  }
  ASSERT_EQ(to.messages.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto route = route_for(from, i, sizes[i]);
    EXPECT_EQ(seen.count(route), 1u) << "missing " << route;
  }
  for (const auto& m : to.messages) {
    // The route names the index and size; the body must be exactly that pattern.
    const auto& route = m.message.meta.route;
    const auto last = route.rfind('/');
    const auto size = std::stoul(route.substr(last + 1));
    const auto mid = route.rfind('/', last - 1);
    const auto index = std::stoul(route.substr(mid + 1, last - mid - 1));
    auto expect = pattern(size, static_cast<std::uint8_t>(index + (from == 'a' ? 1 : 101)));
    ASSERT_FALSE(m.message.body.is_file());
    EXPECT_TRUE(m.message.body.bytes() == *expect) << "wrong body: " << route;
  }
}

std::vector<std::size_t> sizes_for(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 rng{seed};
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t pick = rng() % 10;
    sizes.push_back(pick < 6 ? rng() % 2048 : pick < 9 ? rng() % 40'000 : rng() % 300'000);
  }
  return sizes;
}

void send_all(side& s, char name, const std::vector<std::size_t>& sizes) {
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto r = s.core.send(meta(route_for(name, i, sizes[i])),
                         pattern(sizes[i], static_cast<std::uint8_t>(i + (name == 'a' ? 1 : 101))));
    ASSERT_TRUE(r) << r.error().message();
  }
}

TEST(session_reliable, the_link_is_used_on_lossy_streams_only) {
  session_pair plain;
  EXPECT_FALSE(plain.a().core.reliable());
  session_pair lossy{lossy_config(), lossy_config()};
  EXPECT_TRUE(lossy.a().core.reliable());
  auto off = lossy_config();
  off.link.enabled = false;
  session_pair bare{off, off};
  EXPECT_FALSE(bare.a().core.reliable());
}

TEST(session_reliable, an_outcome_comes_only_once_the_peer_acknowledged_the_message) {
  session_pair p{lossy_config(), lossy_config()};
  p.pump();  // handshake
  ASSERT_TRUE(p.a().ready && p.b().ready);
  bool cut = true;
  p.fault_to_a = [&](protocol::byte_buffer& bytes) {
    if (cut) bytes.clear();  // b's acknowledgements are lost
  };
  auto id = p.a().core.send(meta("hello"), pattern(3000));
  ASSERT_TRUE(id);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);    // b has it ...
  EXPECT_EQ(p.a().outcome(*id), nullptr);  // ... but a does not know yet
  cut = false;
  p.advance(1s);  // a sends it again, b recognises the copy and acknowledges
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
  EXPECT_EQ(p.b().messages.size(), 1u);  // delivered once
  EXPECT_GE(p.a().core.stats().link_retransmissions, 1u);
  EXPECT_GE(p.b().core.stats().link_duplicates, 1u);
}

class session_reliable_noise
    : public ::testing::TestWithParam<std::tuple<std::uint64_t, double, double, double>> {};

TEST_P(session_reliable_noise, every_message_arrives_intact_exactly_once_both_ways) {
  const auto [seed, flip, drop, dup] = GetParam();
  session_pair p{lossy_config(), lossy_config()};
  noisy_line to_a{seed * 2 + 1, flip, drop, dup};
  noisy_line to_b{seed * 2 + 2, flip, drop, dup};
  p.fault_to_a = std::ref(to_a);
  p.fault_to_b = std::ref(to_b);
  p.max_write = 1500;  // writes of a serial driver's size: damage spreads over many of them
  const auto a_sizes = sizes_for(seed, 40);
  const auto b_sizes = sizes_for(seed + 1000, 40);
  send_all(p.a(), 'a', a_sizes);
  send_all(p.b(), 'b', b_sizes);
  run_until_settled(p, a_sizes.size(), b_sizes.size());

  ASSERT_EQ(p.a().outcomes.size(), a_sizes.size());
  ASSERT_EQ(p.b().outcomes.size(), b_sizes.size());
  for (const auto& o : p.a().outcomes) EXPECT_TRUE(o.ok()) << o.reason.message();
  for (const auto& o : p.b().outcomes) EXPECT_TRUE(o.ok()) << o.reason.message();
  EXPECT_TRUE(p.a().failures.empty());
  EXPECT_TRUE(p.b().failures.empty());
  expect_all_delivered(p.b(), 'a', a_sizes);
  expect_all_delivered(p.a(), 'b', b_sizes);
  EXPECT_GT(to_a.flips + to_b.flips, 0u);
  EXPECT_GT(p.a().core.stats().link_retransmissions + p.b().core.stats().link_retransmissions, 0u);
  EXPECT_TRUE(p.a().closes.empty());
  EXPECT_TRUE(p.b().closes.empty());
}

INSTANTIATE_TEST_SUITE_P(
    flip_rates, session_reliable_noise,
    ::testing::Values(std::make_tuple(1, 1e-6, 0.0, 0.0), std::make_tuple(2, 1e-5, 0.0, 0.0),
                      std::make_tuple(3, 1e-4, 0.0, 0.0), std::make_tuple(4, 1e-4, 0.0, 0.0),
                      std::make_tuple(5, 1e-3, 0.0, 0.0), std::make_tuple(6, 1e-5, 0.02, 0.02),
                      std::make_tuple(7, 1e-4, 0.05, 0.05)));

TEST(session_reliable, a_cut_line_fails_the_sender_and_the_receiver_with_typed_errors) {
  auto a_cfg = lossy_config();
  a_cfg.peer_timeout = 0ms;  // only the link's retries can end a
  a_cfg.keepalive_interval = 0ms;
  a_cfg.link.max_retries = 4;
  session_pair p{a_cfg, lossy_config()};
  p.pump();
  std::size_t passed = 0;
  p.fault_to_b = [&](protocol::byte_buffer& bytes) {
    if (passed >= 200'000) {
      bytes.clear();
      return;
    }
    passed += bytes.size();
  };
  p.fault_to_a = [&](protocol::byte_buffer& bytes) {
    if (passed >= 200'000) bytes.clear();
  };
  auto id = p.a().core.send(meta("big"), pattern(1 << 20));
  ASSERT_TRUE(id);
  p.advance(60s, 50ms);
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_EQ(p.a().outcome(*id)->reason, std::error_code{runtime_errc::retries_exhausted});
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_EQ(p.a().closes[0].reason, std::error_code{runtime_errc::retries_exhausted});
  // b had part of it: it fails there too once b hears nothing any more.
  ASSERT_EQ(p.b().failures.size(), 1u);
  EXPECT_TRUE(p.b().messages.empty());
}

TEST(session_reliable, a_graceful_close_over_a_noisy_line_is_clean) {
  session_pair p{lossy_config(), lossy_config()};
  noisy_line to_a{11, 1e-4};
  noisy_line to_b{12, 1e-4};
  p.fault_to_a = std::ref(to_a);
  p.fault_to_b = std::ref(to_b);
  const auto sizes = sizes_for(99, 20);
  send_all(p.a(), 'a', sizes);
  p.a().core.shutdown(p.now(), p.now() + 300s);
  p.b().core.shutdown(p.now(), p.now() + 300s);
  for (int i = 0; i < 6000 && (p.a().closes.empty() || p.b().closes.empty()); ++i)
    p.advance(50ms, 50ms);
  ASSERT_EQ(p.a().closes.size(), 1u);
  ASSERT_EQ(p.b().closes.size(), 1u);
  EXPECT_FALSE(p.a().closes[0].reason) << p.a().closes[0].reason.message();
  EXPECT_FALSE(p.b().closes[0].reason) << p.b().closes[0].reason.message();
  expect_all_delivered(p.b(), 'a', sizes);
  for (const auto& o : p.a().outcomes) EXPECT_TRUE(o.ok());
}

TEST(session_reliable, the_link_costs_under_two_percent_of_the_bytes_of_1_kib_messages) {
  auto bytes_for = [](session_config cfg) {
    session_pair p{cfg, cfg};
    p.pump();
    const auto before = p.a().core.stats().bytes_out;
    for (int i = 0; i < 2000; ++i) EXPECT_TRUE(p.a().core.send(meta("m"), pattern(1024)));
    p.pump();
    EXPECT_EQ(p.b().messages.size(), 2000u);
    return p.a().core.stats().bytes_out - before;
  };
  const auto bare = bytes_for(session_config{});
  const auto linked = bytes_for(lossy_config());
  const double overhead = static_cast<double>(linked) / static_cast<double>(bare) - 1;
  EXPECT_LT(overhead, 0.02) << bare << " bytes bare, " << linked << " over the link";
  EXPECT_GT(overhead, 0.0);
}

TEST(session_reliable, garbage_on_the_line_is_skipped_with_bounded_memory) {
  session_pair p{lossy_config(), lossy_config()};
  p.pump();
  std::mt19937_64 rng{5};
  protocol::byte_buffer junk(1 << 20);
  for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
  for (int i = 0; i < 8; ++i) p.b().core.feed(junk, p.now());
  EXPECT_GE(p.b().core.stats().link_bytes_dropped, 8u * (1 << 20) - 64 * 1024);
  EXPECT_TRUE(p.b().closes.empty());
  auto id = p.a().core.send(meta("after"), pattern(5000));
  ASSERT_TRUE(id);
  p.advance(2s);
  ASSERT_EQ(p.b().messages.size(), 1u);
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
}

}  // namespace
}  // namespace netcore::session::test
