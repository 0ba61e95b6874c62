// Connections under injected faults (transports::faulty_stream): for many seeds the stream is cut
// at a random byte, on the writing or the reading side, while messages of every size are in
// flight. Checked every time: nothing is delivered with wrong bytes or twice, every sent message
// gets an outcome, every failure is typed, both ends end, and no spill file is left (the
// fixture's TearDown).

#include "scenarios.hpp"

#include <netcore/transports/faulty_stream.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <random>
#include <set>

using namespace netcore;
using namespace netcore::integration;

namespace {

class fault_injection : public scenario_fixture {};

struct sent_message {
  std::string route;
  std::size_t size;
};

}  // namespace

TEST_F(fault_injection, a_stream_cut_anywhere_loses_nothing_silently_and_corrupts_nothing) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng{seed};
    std::vector<sent_message> plan;
    std::uint64_t total = 0;
    for (int i = 0; i < 16; ++i) {
      const std::size_t sizes[] = {0, 100, 5000, 70000, 300000, 1u << 20};
      const std::size_t size = sizes[rng() % 6];
      plan.push_back({"s" + std::to_string(seed) + "/m" + std::to_string(i), size});
      total += size + 64;
    }
    // Cut somewhere inside the traffic: the client's writes, or the server's reads.
    transports::fault_plan client_faults;
    transports::fault_plan server_faults;
    const std::uint64_t cut = 1 + rng() % total;
    (seed % 2 == 0 ? client_faults.disconnect_after : server_faults.truncate_after) = cut;

    auto [a, b] = transports::make_memory_pair(1u << 20);
    connection_config server_cfg;
    server_cfg.storage.spill_directory = spill_;
    server_cfg.storage.memory_threshold = 64u << 10;  // the larger bodies spill
    connection_config client_cfg;
    client_cfg.close_timeout = 5s;
    auto client = rt_->adopt(transports::make_faulty(std::move(a), client_faults), client_cfg);
    auto server = rt_->adopt(transports::make_faulty(std::move(b), server_faults), server_cfg);
    event_log log{*sys_};
    client.subscribe(log.handle());

    std::vector<outgoing_message> batch;
    for (const auto& m : plan)
      batch.push_back(outgoing_message::from_bytes(m.route, pattern_body(m.route, m.size)));
    auto first = client.send_batch(std::move(batch));
    ASSERT_TRUE(first) << first.error().message();

    // The receiver: every message intact and once, every failure typed, then the end.
    std::set<std::string> delivered;
    for (;;) {
      auto m = server.receive(20s);
      if (!m) {
        ASSERT_TRUE(m.error().reason) << "an untyped failure";
        ASSERT_NE(m.error().reason, std::error_code{runtime_errc::timed_out})
            << "the end never came";
        if (m.error().id == 0) break;  // the connection ended
        continue;
      }
      const auto& route = m->meta.route;
      auto it = std::find_if(plan.begin(), plan.end(), [&](auto& p) { return p.route == route; });
      ASSERT_NE(it, plan.end()) << "a message nobody sent: " << route;
      EXPECT_TRUE(delivered.insert(route).second) << "delivered twice: " << route;
      auto bytes = m->body.read_all();
      ASSERT_TRUE(bytes);
      EXPECT_TRUE(*bytes == pattern_body(route, it->size)) << "wrong bytes in " << route;
      m->body.remove_file();
    }
    // The sender: an outcome for every message, and the end of the connection.
    EXPECT_TRUE(log.wait_outcomes(plan.size(), 20s)) << log.outcomes.size() << " outcomes";
    for (const auto& [id, error] : log.outcomes) {
      EXPECT_GE(id, *first);
      EXPECT_LT(id, *first + plan.size());
    }
    EXPECT_TRUE(log.wait_until([&] { return log.closed.has_value(); }, 20s));
    // Not checked: that outcomes and deliveries match one to one. Without delivery
    // acknowledgements an outcome says what was written: a message whose last bytes went out in
    // the write the cut failed arrives although its outcome says `disconnected`, and one written
    // in full may be cut off at the reader.
    std::size_t failed = 0;
    for (const auto& [id, error] : log.outcomes) failed += error ? 1 : 0;
    EXPECT_GT(failed + (plan.size() - delivered.size()), 0u) << "the cut had no effect";
  }
}
