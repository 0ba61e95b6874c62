#include <netcore/transports/tcp_stream.hpp>

#include <netcore/transports/listener.hpp>
#include <netcore/transports/unix_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace netcore::transports::test;

using netcore::is_disconnect;
using netcore::transports::byte_stream;
using netcore::transports::io_slice;
using netcore::transports::listener;
using netcore::transports::tcp_connect;
using netcore::transports::tcp_options;

/// A connected client/server pair over `address`.
struct connection {
  std::unique_ptr<listener> server_socket;
  std::unique_ptr<byte_stream> client;
  std::unique_ptr<byte_stream> server;
};

connection connect_pair(const std::string& address, const tcp_options& opts = {}) {
  connection c;
  auto l = listener::tcp(address, 0, opts);
  EXPECT_TRUE(l) << "listen on " << address;
  if (!l) return c;
  c.server_socket = std::move(*l);
  EXPECT_NE(c.server_socket->port(), 0);
  std::unique_ptr<byte_stream> accepted;
  std::thread acceptor([&] {
    auto s = c.server_socket->accept();
    EXPECT_TRUE(s);
    if (s) accepted = std::move(*s);
  });
  auto client = tcp_connect(address, c.server_socket->port(), opts);
  EXPECT_TRUE(client);
  if (client) c.client = std::move(*client);
  acceptor.join();
  c.server = std::move(accepted);
  return c;
}

bool can_bind_ipv6_loopback() {
  return static_cast<bool>(listener::tcp("::1", 0));
}

void round_trip(connection& c) {
  ASSERT_TRUE(c.client && c.server);
  const auto up = random_bytes(12u << 20, 1);
  const auto down = random_bytes(9u << 20, 2);
  std::vector<std::uint8_t> at_server;
  std::vector<std::uint8_t> at_client;
  std::thread server_reader([&] { at_server = read_exactly(*c.server, up.size()); });
  std::thread server_writer([&] { EXPECT_FALSE(write_in_pieces(*c.server, down, 3, 16, 100000)); });
  std::thread client_reader([&] { at_client = read_exactly(*c.client, down.size()); });
  EXPECT_FALSE(write_in_pieces(*c.client, up, 4, 16, 100000));
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
  auto l = listener::tcp("127.0.0.1", 0);
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
    auto l = listener::tcp("127.0.0.1", 0);
    ASSERT_TRUE(l);
    port = (*l)->port();
  }
  auto client = tcp_connect("127.0.0.1", port);
  ASSERT_FALSE(client);
  // The cause itself, not a generic "disconnected": a CLI can say "connection refused".
  EXPECT_EQ(client.error(), std::errc::connection_refused) << client.error().message();
}

TEST(TcpStream, UnresolvableHostSaysResolutionFailed) {
  auto client = tcp_connect("no-such-host.invalid", 1);
  EXPECT_EQ(client.error(), std::error_code{netcore::transport_errc::resolution_failed});
  EXPECT_EQ(client.error().message(), "name resolution failed");
}

TEST(TcpStream, ListenOnAnAddressNotOfThisHostFails) {
  EXPECT_EQ(listener::tcp("203.0.113.254", 0).error(), std::errc::address_not_available);
}

TEST(TcpStream, ListenOnAPortInUseFails) {
  auto first = listener::tcp("127.0.0.1", 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(listener::tcp("127.0.0.1", (*first)->port()).error(), std::errc::address_in_use);
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
  EXPECT_FALSE(c.client->write(slices.data(), slices.size()));
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(TcpStream, CloseUnblocksBlockedRead) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  std::error_code seen;
  std::thread reader([&] {
    std::uint8_t buf[16];
    seen = c.client->read(buf, sizeof buf).error();
  });
  c.client->close();
  reader.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
  // The peer sees the orderly shutdown.
  std::uint8_t buf[16];
  EXPECT_TRUE(is_disconnect(c.server->read(buf, sizeof buf).error()));
}

TEST(TcpStream, CloseUnblocksBlockedWrite) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  // 256 MiB (one buffer repeated): far more than the socket buffers hold; the server reads
  // just the first byte, so the writer ends up blocked.
  const std::vector<std::uint8_t> chunk(1u << 20, 0xa5);
  const std::vector<io_slice> slices(256, io_slice{chunk.data(), chunk.size()});
  std::error_code seen;
  std::thread writer([&] { seen = c.client->write(slices.data(), slices.size()); });
  std::uint8_t buf[1];
  ASSERT_TRUE(c.server->read(buf, 1));
  c.client->close();
  writer.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(TcpStream, PeerCloseIsDisconnected) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  const std::uint8_t bytes[] = {1, 2, 3, 4};
  const io_slice slice{bytes, sizeof bytes};
  ASSERT_FALSE(c.server->write(&slice, 1));
  c.server.reset();  // closes the socket

  std::vector<std::uint8_t> got = read_exactly(*c.client, 4);
  EXPECT_EQ(got, std::vector<std::uint8_t>(bytes, bytes + 4));
  std::uint8_t buf[8];
  EXPECT_TRUE(is_disconnect(c.client->read(buf, sizeof buf).error()));
  // Writing to a peer that is gone fails once the peer's reset arrives.
  std::error_code e;
  for (int i = 0; i < 1000 && !e; ++i) e = c.client->write(&slice, 1);
  EXPECT_TRUE(is_disconnect(e));
}

TEST(TcpStream, CallsAfterCloseFail) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  c.client->close();
  c.client->close();
  const std::uint8_t bytes[] = {1};
  const io_slice slice{bytes, 1};
  EXPECT_TRUE(is_disconnect(c.client->write(&slice, 1)));
  std::uint8_t buf[1];
  EXPECT_TRUE(is_disconnect(c.client->read(buf, 1).error()));
}

TEST(TcpStream, ListenerCloseUnblocksAccept) {
  auto l = listener::tcp("127.0.0.1", 0);
  ASSERT_TRUE(l);
  std::error_code seen;
  std::thread acceptor([&] { seen = (*l)->accept().error(); });
  (*l)->close();
  acceptor.join();
  EXPECT_EQ(seen, std::error_code{netcore::transport_errc::closed}) << seen.message();
  EXPECT_EQ((*l)->accept().error(), std::error_code{netcore::transport_errc::closed});
  (*l)->close();
}

TEST(TcpStream, DescribeAndProfile) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  EXPECT_EQ(c.client->describe(), "tcp 127.0.0.1:" + std::to_string(c.server_socket->port()));
  EXPECT_EQ(c.server->describe().rfind("tcp 127.0.0.1:", 0), 0u);
  const auto p = c.client->profile();
  EXPECT_EQ(p.chunk_size, 64u << 10);
  EXPECT_EQ(p.write_batch, 1u << 20);
  EXPECT_FALSE(p.lossy);
  EXPECT_GE(c.client->native_handle(), 0);  // pollable: the runtime's event loop drives it
}

TEST(TcpStream, TryReadAndTryWriteNeverBlock) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  std::uint8_t buf[64];
  auto none = c.client->try_read(buf, sizeof buf);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);  // nothing there yet
  // try_write takes what the socket buffer holds, then reports how much that was.
  const std::vector<std::uint8_t> chunk(1u << 20, 1);
  const std::vector<io_slice> slices(64, io_slice{chunk.data(), chunk.size()});
  auto taken = c.client->try_write(slices.data(), slices.size());
  ASSERT_TRUE(taken);
  EXPECT_GT(*taken, 0u);
  EXPECT_LT(*taken, 64u << 20);
}

TEST(TcpStream, PeerEndIsEndOfStreamAndLocalCloseIsClosed) {
  auto c = connect_pair("127.0.0.1");
  ASSERT_TRUE(c.client && c.server);
  c.server->shutdown_write();
  std::uint8_t buf[8];
  EXPECT_EQ(c.client->read(buf, sizeof buf).error(),
            std::error_code{netcore::transport_errc::end_of_stream});
  c.client->close();
  EXPECT_EQ(c.client->read(buf, sizeof buf).error(),
            std::error_code{netcore::transport_errc::closed});
}

TEST(UnixStream, RoundTripAndErrors) {
  const std::string path = "/tmp/netcore-unix-test-" + std::to_string(::getpid());
  auto l = listener::unix_socket(path);
  ASSERT_TRUE(l) << l.error().message();
  std::unique_ptr<byte_stream> server;
  std::thread acceptor([&] {
    auto s = (*l)->accept();
    if (s) server = std::move(*s);
  });
  auto client = netcore::transports::unix_connect(path);
  acceptor.join();
  ASSERT_TRUE(client && server);
  const auto data = random_bytes(3u << 20, 9);
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(*server, data.size()); });
  EXPECT_FALSE(write_in_pieces(**client, data, 10));
  reader.join();
  EXPECT_TRUE(got == data);
  EXPECT_EQ((*client)->describe(), "unix " + path);
  l->reset();  // removes the socket file
  EXPECT_EQ(netcore::transports::unix_connect(path).error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(netcore::transports::unix_connect(std::string(200, 'x')).error(),
            std::error_code{netcore::transport_errc::invalid_address});
}

}  // namespace
