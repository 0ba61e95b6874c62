// The blocking pre-shared-key handshake over real byte streams: in-memory pairs (reads block)
// and TCP (pollable), with matching and wrong keys, silent peers and peers that speak something
// else.

#include <netcore/transports/psk_stream.hpp>

#include <netcore/transports/listener.hpp>
#include <netcore/transports/memory_stream.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace netcore::transports;
using netcore::transport_errc;
using bytes = std::vector<std::uint8_t>;
using stream_ptr = std::unique_ptr<byte_stream>;

const bytes alice_key(32, 0xA1);

psk_config alice(bytes key = alice_key, std::chrono::milliseconds timeout = 5s) {
  return {"alice", std::move(key), timeout};
}

psk_server_config server_keys(std::chrono::milliseconds timeout = 5s) {
  auto lookup = psk_key_table({{"alice", alice_key}});
  EXPECT_TRUE(lookup);
  return {*lookup, timeout};
}

std::error_code send_text(byte_stream& s, const std::string& text) {
  const io_slice slice{text.data(), text.size()};
  return s.write(&slice, 1);
}

std::string read_text(byte_stream& s, std::size_t n) {
  const auto got = test::read_exactly(s, n);
  return {got.begin(), got.end()};
}

/// The server side on a thread of its own.
std::future<result<stream_ptr>> serve(stream_ptr s, psk_server_config config) {
  return std::async(std::launch::async, [s = std::move(s), config]() mutable {
    return psk_server(std::move(s), config);
  });
}

TEST(PskStream, MatchingKeysAuthenticateAndBytesFlowBothWays) {
  auto [a, b] = make_memory_pair();
  auto server = serve(std::move(b), server_keys());
  auto client = psk_client(std::move(a), alice());
  ASSERT_TRUE(client) << client.error().message();
  auto accepted = server.get();
  ASSERT_TRUE(accepted) << accepted.error().message();
  EXPECT_EQ((*client)->peer().psk_identity, "alice");
  EXPECT_EQ((*accepted)->peer().psk_identity, "alice");
  EXPECT_FALSE(send_text(**client, "ping"));
  EXPECT_EQ(read_text(**accepted, 4), "ping");
  EXPECT_FALSE(send_text(**accepted, "pong"));
  EXPECT_EQ(read_text(**client, 4), "pong");
  EXPECT_EQ((*client)->describe(), "memory");
}

TEST(PskStream, AWrongKeyFailsAtBothEndsWithTypedErrors) {
  auto [a, b] = make_memory_pair();
  auto server = serve(std::move(b), server_keys());
  auto client = psk_client(std::move(a), alice(bytes(32, 0x55)));
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_failed});
  auto accepted = server.get();
  ASSERT_FALSE(accepted);
  EXPECT_EQ(accepted.error(), std::error_code{transport_errc::auth_failed});
}

TEST(PskStream, ASilentPeerTimesOutAtEitherEnd) {
  {
    auto [a, b] = make_memory_pair();
    const auto start = std::chrono::steady_clock::now();
    auto r = psk_server(std::move(b), server_keys(100ms));
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::error_code{transport_errc::auth_timeout});
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 5s);
    // The silent peer heard the hello, then the end.
    EXPECT_EQ(test::read_exactly(*a, 40).size(), 40u);
    std::uint8_t byte = 0;
    EXPECT_FALSE(a->read(&byte, 1));
  }
  {
    auto [a, b] = make_memory_pair();
    auto r = psk_client(std::move(a), alice(alice_key, 100ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::error_code{transport_errc::auth_timeout});
  }
}

TEST(PskStream, APeerThatSpeaksSomethingElseIsAProtocolError) {
  auto [a, b] = make_memory_pair();
  // A plain netcore peer starts with its HELLO frame ("NC", version 1, type 0x0A, ...).
  const std::string frame("NC\x01\x0A\x00\x00\x00\x00", 8);
  ASSERT_FALSE(send_text(*b, frame));
  auto r = psk_client(std::move(a), alice());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::error_code{transport_errc::auth_protocol_error});

  auto [c, d] = make_memory_pair();
  ASSERT_FALSE(send_text(*d, frame));
  auto s = psk_server(std::move(c), server_keys());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), std::error_code{transport_errc::auth_protocol_error});
  const auto heard = test::read_exactly(*d, 80);  // the hello, then a refusal
  ASSERT_EQ(heard.size(), 80u);
  EXPECT_EQ(heard[40 + 5], 4) << "a refusal";
}

TEST(PskStream, APeerThatEndsTheStreamMidwayIsAProtocolError) {
  auto [a, b] = make_memory_pair();
  std::thread peer([&b = b] {
    (void)test::read_exactly(*b, 8);  // a client that reads a little and leaves
    b.reset();
  });
  auto r = psk_server(std::move(a), server_keys());
  peer.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::error_code{transport_errc::auth_protocol_error});
}

TEST(PskStream, TcpStreamsStayPollableAfterTheHandshake) {
  auto l = listener::tcp("127.0.0.1", 0);
  ASSERT_TRUE(l) << l.error().message();
  auto server = std::async(std::launch::async, [&] {
    auto s = (*l)->accept();
    EXPECT_TRUE(s);
    return psk_server(std::move(*s), server_keys());
  });
  auto s = tcp_connect("127.0.0.1", (*l)->port());
  ASSERT_TRUE(s);
  const int fd = (*s)->native_handle();
  auto client = psk_client(std::move(*s), alice());
  ASSERT_TRUE(client) << client.error().message();
  auto accepted = server.get();
  ASSERT_TRUE(accepted) << accepted.error().message();
  EXPECT_EQ((*client)->native_handle(), fd);
  EXPECT_GE((*accepted)->native_handle(), 0);
  EXPECT_EQ((*accepted)->peer().psk_identity, "alice");
  ASSERT_FALSE(send_text(**accepted, "x"));
  std::uint8_t byte = 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  result<std::size_t> got = std::size_t{0};
  while (std::chrono::steady_clock::now() < deadline) {
    got = (*client)->try_read(&byte, 1);
    if (!got || *got > 0) break;
    std::this_thread::yield();
  }
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 1u);
  EXPECT_EQ(byte, 'x');
}

TEST(PskStream, UnusableArgumentsAreTypedErrors) {
  const std::error_code invalid{transport_errc::invalid_argument};
  EXPECT_EQ(psk_client(nullptr, alice()).error(), invalid);
  EXPECT_EQ(psk_server(nullptr, server_keys()).error(), invalid);
  auto [a, b] = make_memory_pair();
  EXPECT_EQ(psk_client(std::move(a), alice(bytes(4, 1))).error(), invalid);
  std::uint8_t byte = 0;
  EXPECT_FALSE(b->read(&byte, 1)) << "the stream was closed";
}

}  // namespace
