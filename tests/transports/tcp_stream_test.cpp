#include <netcore/transports/tcp_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace netcore::transports::test;

using netcore::transports::byte_stream;
using netcore::transports::errc;
using netcore::transports::io_slice;
using netcore::transports::tcp_connect;
using netcore::transports::tcp_listener;
using netcore::transports::tcp_options;

/// A connected client/server pair over `address`.
struct connection {
  std::unique_ptr<tcp_listener> listener;
  std::unique_ptr<byte_stream> client;
  std::unique_ptr<byte_stream> server;
};

connection connect_pair(const std::string& address, const tcp_options& opts = {}) {
  connection c;
  auto l = tcp_listener::listen(address, 0, opts);
  EXPECT_TRUE(l) << "listen on " << address;
  if (!l) return c;
  c.listener = std::move(*l);
  EXPECT_NE(c.listener->port(), 0);
  std::unique_ptr<byte_stream> accepted;
  std::thread acceptor([&] {
    auto s = c.listener->accept();
    EXPECT_TRUE(s);
    if (s) accepted = std::move(*s);
  });
  auto client = tcp_connect(address, c.listener->port(), opts);
  EXPECT_TRUE(client);
  if (client) c.client = std::move(*client);
  acceptor.join();
  c.server = std::move(accepted);
  return c;
}

bool can_bind_ipv6_loopback() {
  return static_cast<bool>(tcp_listener::listen("::1", 0));
}

void round_trip(connection& c) {
  ASSERT_TRUE(c.client && c.server);
  const auto up = random_bytes(12u << 20, 1);
  const auto down = random_bytes(9u << 20, 2);
  std::vector<std::uint8_t> at_server;
  std::vector<std::uint8_t> at_client;
  std::thread server_reader([&] { at_server = read_exactly(*c.server, up.size()); });
  std::thread server_writer(
      [&] { EXPECT_EQ(write_in_pieces(*c.server, down, 3, 16, 100000), errc::ok); });
  std::thread client_reader([&] { at_client = read_exactly(*c.client, down.size()); });
  EXPECT_EQ(write_in_pieces(*c.client, up, 4, 16, 100000), errc::ok);
  server_reader.join();
  server_writer.join();
  client_reader.join();
  EXPECT_TRUE(at_server == up);
  EXPECT_TRUE(at_client == down);
}

TEST(TcpStream, RoundTripIpv4) {
  auto c = connect_pair("127.0.0.1");
  round_trip(c);
}

TEST(TcpStream, RoundTripIpv6) {
  if (!can_bind_ipv6_loopback()) GTEST_SKIP() << "cannot bind ::1 (no IPv6 loopback)";
  auto c = connect_pair("::1");
  round_trip(c);
  ASSERT_TRUE(c.client);
  EXPECT_EQ(c.client->describe().rfind("tcp [::1]:", 0), 0u) << c.client->describe();
}

TEST(TcpStream, RoundTripWithOptions) {
  tcp_options opts;
  opts.no_delay = false;
  opts.not_sent_low_water = 16u << 10;
  auto c = connect_pair("127.0.0.1", opts);
  round_trip(c);
}

TEST(TcpStream, ConnectByName) {
  auto l = tcp_listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(l);
  bool accepted = false;
  std::thread acceptor([&] { accepted = static_cast<bool>((*l)->accept()); });
  // "localhost" resolves to 127.0.0.1 (possibly after ::1, which is refused and skipped).
  auto client = tcp_connect("localhost", (*l)->port());
  if (!client) (*l)->close();  // unblock the acceptor
  acceptor.join();
  EXPECT_TRUE(client);
  EXPECT_TRUE(accepted);
}

TEST(TcpStream, ConnectToClosedPortFails) {
  std::uint16_t port = 0;
  {
    auto l = tcp_listener::listen("127.0.0.1", 0);
    ASSERT_TRUE(l);
    port = (*l)->port();
  }
  auto client = tcp_connect("127.0.0.1", port);
  EXPECT_FALSE(client);
  EXPECT_EQ(client.error(), errc::disconnected);
}

TEST(TcpStream, UnresolvableHostFails) {
  auto client = tcp_connect("no-such-host.invalid", 1);
  EXPECT_EQ(client.error(), errc::disconnected);
}

TEST(TcpStream, ListenOnBadAddressFails) {
  EXPECT_EQ(tcp_listener::listen("203.0.113.254", 0).error(), errc::disconnected);
}

TEST(TcpStream, VectoredWriteOfManySlices) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  const auto data = random_bytes(3000 * 1000, 5);
  std::mt19937_64 rng(6);
  std::vector<io_slice> slices;
  std::size_t pos = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::size_t len =
        i == 2999 ? data.size() - pos : std::min<std::size_t>(data.size() - pos, rng() % 2000);
    slices.push_back({data.data() + pos, len});
    pos += len;
  }
  ASSERT_EQ(slices.size(), 3000u);
  ASSERT_EQ(pos, data.size());
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(*c.server, data.size()); });
  EXPECT_EQ(c.client->write(slices.data(), slices.size()), errc::ok);
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(TcpStream, CloseUnblocksBlockedRead) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  errc seen = errc::ok;
  std::thread reader([&] {
    std::uint8_t buf[16];
    seen = c.client->read(buf, sizeof buf).error();
  });
  c.client->close();
  reader.join();
  EXPECT_EQ(seen, errc::disconnected);
  // The peer sees the orderly shutdown.
  std::uint8_t buf[16];
  EXPECT_EQ(c.server->read(buf, sizeof buf).error(), errc::disconnected);
}

TEST(TcpStream, CloseUnblocksBlockedWrite) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  // 256 MiB (one buffer repeated): far more than the socket buffers hold; the server reads
  // just the first byte, so the writer ends up blocked.
  const std::vector<std::uint8_t> chunk(1u << 20, 0xa5);
  const std::vector<io_slice> slices(256, io_slice{chunk.data(), chunk.size()});
  errc seen = errc::ok;
  std::thread writer([&] { seen = c.client->write(slices.data(), slices.size()); });
  std::uint8_t buf[1];
  ASSERT_TRUE(c.server->read(buf, 1));
  c.client->close();
  writer.join();
  EXPECT_EQ(seen, errc::disconnected);
}

TEST(TcpStream, PeerCloseIsDisconnected) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  const std::uint8_t bytes[] = {1, 2, 3, 4};
  const io_slice slice{bytes, sizeof bytes};
  ASSERT_EQ(c.server->write(&slice, 1), errc::ok);
  c.server.reset();  // closes the socket

  std::vector<std::uint8_t> got = read_exactly(*c.client, 4);
  EXPECT_EQ(got, std::vector<std::uint8_t>(bytes, bytes + 4));
  std::uint8_t buf[8];
  EXPECT_EQ(c.client->read(buf, sizeof buf).error(), errc::disconnected);
  // Writing to a peer that is gone fails once the peer's reset arrives.
  errc e = errc::ok;
  for (int i = 0; i < 1000 && e == errc::ok; ++i) e = c.client->write(&slice, 1);
  EXPECT_EQ(e, errc::disconnected);
}

TEST(TcpStream, CallsAfterCloseFail) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  c.client->close();
  c.client->close();
  const std::uint8_t bytes[] = {1};
  const io_slice slice{bytes, 1};
  EXPECT_EQ(c.client->write(&slice, 1), errc::disconnected);
  std::uint8_t buf[1];
  EXPECT_EQ(c.client->read(buf, 1).error(), errc::disconnected);
}

TEST(TcpStream, ListenerCloseUnblocksAccept) {
  auto l = tcp_listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(l);
  errc seen = errc::ok;
  std::thread acceptor([&] { seen = (*l)->accept().error(); });
  (*l)->close();
  acceptor.join();
  EXPECT_EQ(seen, errc::disconnected);
  EXPECT_EQ((*l)->accept().error(), errc::disconnected);
  (*l)->close();
}

TEST(TcpStream, DescribeAndProfile) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  EXPECT_EQ(c.client->describe(), "tcp 127.0.0.1:" + std::to_string(c.listener->port()));
  EXPECT_EQ(c.server->describe().rfind("tcp 127.0.0.1:", 0), 0u);
  const auto p = c.client->profile();
  EXPECT_EQ(p.chunk_size, 64u << 10);
  EXPECT_EQ(p.write_batch, 1u << 20);
  EXPECT_EQ(p.read_size, 1u << 20);
  EXPECT_FALSE(p.lossy);
}

}  // namespace
