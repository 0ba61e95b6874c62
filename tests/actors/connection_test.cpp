// End-to-end tests of connection over an in-memory stream pair, on real threads.

#include <netcore/actors/connection.hpp>

#include <netcore/actors/messages.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

using namespace netcore;
using namespace netcore::actors;
using protocol::errc;

namespace {

constexpr auto wait_limit = std::chrono::seconds{60};

protocol::byte_buffer random_body(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  protocol::byte_buffer b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (std::string{e->d_name} != "." && std::string{e->d_name} != "..") ++n;
    ::closedir(d);
  }
  return n;
}

class connection_test : public ::testing::Test {
 protected:
  connection_test() {
    cfg_.set("scheduler.max-threads", 2);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    spill_ = std::string{NETCORE_TEST_TMP} + "/" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::mkdir(NETCORE_TEST_TMP, 0700);
    ::mkdir(spill_.c_str(), 0700);
  }
  ~connection_test() override {
    EXPECT_EQ(files_in(spill_), 0u) << "spill files left behind";
    ::rmdir(spill_.c_str());
  }

  connection_config config() {
    connection_config c;
    c.storage.spill_directory = spill_;
    c.storage.memory_threshold = 1u << 20;
    c.chunk_size = 16u << 10;
    return c;
  }

  /// Waits for `n` outcomes on `events`; returns them by id.
  std::map<std::uint64_t, errc> outcomes(caf::scoped_actor& events, std::size_t n) {
    std::map<std::uint64_t, errc> out;
    bool timed_out = false;
    while (out.size() < n && !timed_out) {
      events->receive([&](outcome_atom, send_outcome& o) { out[o.id] = o.error; },
                      [&](closed_atom, errc) {}, [&](progress_atom, send_progress&) {},
                      caf::after(wait_limit) >> [&] { timed_out = true; });
    }
    return out;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::string spill_;
};

}  // namespace

TEST_F(connection_test, many_messages_of_many_sizes_arrive_intact) {
  auto [sa, sb] = transports::make_memory_pair(1u << 20, 5000);
  caf::scoped_actor events{*sys_};
  connection a{*sys_, std::move(sa), config(), {}, events};
  connection b{*sys_, std::move(sb), config()};
  std::vector<std::size_t> sizes = {0,       1, 100, 16384, 16385, 100000, 1u << 20, (1u << 20) + 1,
                                    3u << 20};
  std::map<std::string, protocol::byte_buffer> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto body = random_body(sizes[i], i);
    auto route = "m/" + std::to_string(i);
    sent[route] = body;
    ASSERT_TRUE(a.send(outgoing_message::from_bytes(route, std::move(body))));
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto m = b.receive(wait_limit);
    ASSERT_TRUE(m) << to_string(m.error());
    auto bytes = m->body.read_all();
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, sent.at(m->meta.route)) << m->meta.route;
    EXPECT_EQ(m->body.is_file(), m->body.size() > (1u << 20));
    m->body.remove_file();
  }
  auto results = outcomes(events, sizes.size());
  ASSERT_EQ(results.size(), sizes.size());
  for (auto& [id, e] : results) EXPECT_EQ(e, errc::ok) << id;
}

TEST_F(connection_test, both_directions_at_once) {
  auto [sa, sb] = transports::make_memory_pair(256u << 10);
  connection a{*sys_, std::move(sa), config()};
  connection b{*sys_, std::move(sb), config()};
  constexpr int count = 20;
  auto sender = [](connection& c, std::uint64_t seed) {
    for (int i = 0; i < count; ++i)
      c.send(outgoing_message::from_bytes(
          "x", random_body(static_cast<std::size_t>(i) * 9000, seed + i)));
  };
  std::thread ta{sender, std::ref(a), 100};
  std::thread tb{sender, std::ref(b), 200};
  for (auto* c : {&a, &b}) {
    for (int i = 0; i < count; ++i) {
      auto m = c->receive(wait_limit);
      ASSERT_TRUE(m) << to_string(m.error());
      EXPECT_EQ(m->body.size() % 9000, 0u);
      m->body.remove_file();
    }
  }
  ta.join();
  tb.join();
}

TEST_F(connection_test, a_file_body_is_streamed_and_a_large_one_spilled) {
  auto path =
      spill_ + "/../" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".src";
  auto body = random_body(5u << 20, 7);
  {
    std::ofstream f{path, std::ios::binary};
    f.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  }
  auto [sa, sb] = transports::make_memory_pair();
  connection a{*sys_, std::move(sa), config()};
  connection b{*sys_, std::move(sb), config()};
  ASSERT_TRUE(a.send(outgoing_message::from_file("file", path)));
  auto m = b.receive(wait_limit);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->body.is_file());
  struct stat info {};
  ASSERT_EQ(::stat(m->body.path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(*m->body.read_all(), body);
  m->body.remove_file();
  ::unlink(path.c_str());
}

TEST_F(connection_test, a_missing_file_fails_that_message_only) {
  auto [sa, sb] = transports::make_memory_pair();
  caf::scoped_actor events{*sys_};
  connection a{*sys_, std::move(sa), config(), {}, events};
  connection b{*sys_, std::move(sb), config()};
  auto bad = a.send(outgoing_message::from_file("f", spill_ + "/does-not-exist"));
  auto good = a.send(outgoing_message::from_bytes("g", random_body(10, 1)));
  auto results = outcomes(events, 2);
  EXPECT_EQ(results[*bad], errc::storage_failed);
  EXPECT_EQ(results[*good], errc::ok);
  auto m = b.receive(wait_limit);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->meta.route, "g");
}

TEST_F(connection_test, cancel_mid_transfer_frees_both_sides) {
  auto [sa, sb] = transports::make_memory_pair(64u << 10);
  caf::scoped_actor events{*sys_};
  auto cfg = config();
  cfg.initial_message_credit = 256u << 10;  // the big message needs many grants
  connection a{*sys_, std::move(sa), cfg, {}, events};
  connection b{*sys_, std::move(sb), cfg};
  auto big = a.send(outgoing_message::from_bytes("big", random_body(64u << 20, 3)));
  ASSERT_TRUE(big);
  a.cancel(*big);
  auto small = a.send(outgoing_message::from_bytes("small", random_body(100, 4)));
  auto results = outcomes(events, 2);
  // The cancel raced the transfer: either it won, or the message had already gone in full.
  EXPECT_TRUE(results[*big] == errc::cancelled || results[*big] == errc::ok);
  EXPECT_EQ(results[*small], errc::ok);
  bool got_small = false;
  for (int i = 0; i < 2 && !got_small; ++i) {
    auto m = b.receive(results[*big] == errc::ok ? wait_limit : std::chrono::seconds{5});
    if (!m) break;
    got_small = m->meta.route == "small";
    m->body.remove_file();
  }
  EXPECT_TRUE(got_small);
}

TEST_F(connection_test, peer_disconnect_mid_message_fails_both_sides_promptly) {
  auto [sa, sb] = transports::make_memory_pair(64u << 10);
  caf::scoped_actor events_a{*sys_};
  caf::scoped_actor events_b{*sys_};
  connection a{*sys_, std::move(sa), config(), {}, events_a};
  auto b = std::make_unique<connection>(*sys_, std::move(sb), config(), caf::actor{}, events_b);
  auto big = a.send(outgoing_message::from_bytes("big", random_body(32u << 20, 5)));
  ASSERT_TRUE(big);
  b->abort();
  auto results = outcomes(events_a, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_NE(results[*big], errc::ok);
  EXPECT_FALSE(a.send(outgoing_message::from_bytes("late", {})).ok() &&
               a.receive(std::chrono::seconds{10}).ok());
  b.reset();
}

TEST_F(connection_test, receive_times_out_with_a_typed_error) {
  auto [sa, sb] = transports::make_memory_pair();
  connection a{*sys_, std::move(sa), config()};
  auto m = a.receive(std::chrono::milliseconds{50});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::timed_out);
}
