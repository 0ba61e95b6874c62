// The reliable link end to end, through the runtime: two connections over a line that flips bits
// and loses and repeats bytes in both directions (transports::faulty_stream over a memory pair,
// marked lossy). Every message arrives intact exactly once and every sender hears "ok"; a line
// that goes silent ends both sides with typed failures.

#include "scenarios.hpp"

#include <netcore/transports/faulty_stream.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <random>
#include <set>

using namespace netcore;
using namespace netcore::integration;

namespace {

class reliable_delivery : public scenario_fixture {};

struct line {
  double flip;
  double drop;
  double duplicate;
};

connection_config lossy_config() {
  connection_config c;
  c.lossy = true;  // a memory pair is not lossy by itself: the faults make it one
  c.link.min_rto = 5ms;
  return c;
}

}  // namespace

TEST_F(reliable_delivery, every_message_arrives_intact_exactly_once_through_a_corrupting_line) {
  const line lines[] = {{1e-6, 0, 0}, {1e-5, 0, 0}, {1e-4, 0, 0}, {1e-5, 0.02, 0.02}};
  std::uint64_t seed = 0;
  for (const auto& l : lines) {
    ++seed;
    SCOPED_TRACE("flip " + std::to_string(l.flip) + " drop " + std::to_string(l.drop));
    std::mt19937_64 rng{seed};
    transports::fault_plan to_server;
    to_server.seed = seed * 2;
    to_server.flip_per_byte = l.flip;
    to_server.drop_per_read = l.drop;
    to_server.duplicate_per_read = l.duplicate;
    transports::fault_plan to_client = to_server;
    to_client.seed = seed * 2 + 1;

    auto [a, b] = transports::make_memory_pair(256u << 10);
    auto client = rt_->adopt(transports::make_faulty(std::move(a), to_client), lossy_config());
    auto server = rt_->adopt(transports::make_faulty(std::move(b), to_server), lossy_config());
    event_log log{*sys_};
    client.subscribe(log.handle());

    std::map<std::string, std::size_t> plan;
    for (int i = 0; i < 40; ++i) {
      const std::size_t sizes[] = {0, 90, 1024, 6000, 70000, 400000};
      const auto route = "r" + std::to_string(seed) + "/" + std::to_string(i);
      plan[route] = sizes[rng() % 6];
      auto id = client.send(outgoing_message::from_bytes(route, pattern_body(route, plan[route])));
      ASSERT_TRUE(id) << id.error().message();
    }
    std::set<std::string> delivered;
    while (delivered.size() < plan.size()) {
      auto m = server.receive(60s);
      ASSERT_TRUE(m) << "after " << delivered.size() << ": " << m.error().reason.message();
      const auto& route = m->meta.route;
      ASSERT_EQ(plan.count(route), 1u) << "a message nobody sent: " << route;
      EXPECT_TRUE(delivered.insert(route).second) << "delivered twice: " << route;
      auto bytes = m->body.read_all();
      ASSERT_TRUE(bytes);
      EXPECT_TRUE(*bytes == pattern_body(route, plan[route])) << "wrong bytes in " << route;
      m->body.remove_file();
    }
    ASSERT_TRUE(log.wait_outcomes(plan.size(), 60s)) << log.outcomes.size() << " outcomes";
    for (const auto& [id, error] : log.outcomes) EXPECT_FALSE(error) << error.message();
    EXPECT_FALSE(server.receive(50ms)) << "more arrived than was sent";
    const auto cs = client.stats().session;
    const auto ss = server.stats().session;
    if (l.flip >= 1e-4) {
      EXPECT_GT(cs.link_retransmissions + ss.link_retransmissions, 0u);
      EXPECT_GT(cs.link_corrupt_packets + ss.link_corrupt_packets, 0u);
    }
    client.close(5s);
    server.close(5s);
  }
}

TEST_F(reliable_delivery, a_line_gone_silent_ends_both_sides_with_typed_failures) {
  transports::fault_plan silent;
  silent.stall_after = 150'000;  // the server stops hearing the client after this many bytes
  auto [a, b] = transports::make_memory_pair(256u << 10);
  auto cfg = lossy_config();
  cfg.link.max_retries = 4;
  cfg.link.max_rto = 200ms;
  cfg.keepalive_interval = 500ms;
  cfg.peer_timeout = 3s;
  auto client = rt_->adopt(transports::make_faulty(std::move(a), silent), cfg);
  auto server = rt_->adopt(transports::make_faulty(std::move(b), silent), cfg);
  event_log log{*sys_};
  client.subscribe(log.handle());
  const std::string route = "big";
  auto id = client.send(outgoing_message::from_bytes(route, pattern_body(route, 1u << 20)));
  ASSERT_TRUE(id);
  ASSERT_TRUE(log.wait_outcomes(1, 60s));
  const auto why = log.outcomes[*id];
  EXPECT_TRUE(why == std::error_code{runtime_errc::retries_exhausted} ||
              why == std::error_code{wire_errc::peer_timeout})
      << why.message();
  // The server had part of it: a typed failure there too, then the end. (Its own packets go
  // unacknowledged as well, so whichever side gives up first tells the other, if it can.)
  auto m = server.receive(60s);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().reason);
  EXPECT_NE(m.error().reason, std::error_code{runtime_errc::timed_out});
  EXPECT_TRUE(log.wait_until([&] { return log.closed.has_value(); }, 60s));
}
