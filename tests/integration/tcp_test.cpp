// Integration scenarios over TCP on the loopback interface, at full size, plus an IPv6 smoke test.

#include "scenarios.hpp"

#include <netcore/transports/listener.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

using namespace netcore;
using namespace netcore::integration;

namespace {

/// A connected pair: the connecting end and the accepted end of a fresh listener on `address`.
stream_pair tcp_pair_on(const std::string& address) {
  auto listener = transports::listener::tcp(address, 0);
  if (!listener) return {};
  // The kernel completes the handshake from its backlog: connect first, then accept.
  auto client = transports::tcp_connect(address, (*listener)->port());
  if (!client) return {};
  auto server = (*listener)->accept();
  if (!server) return {};
  return {std::move(*client), std::move(*server)};
}

stream_pair tcp_pair() {
  return tcp_pair_on("127.0.0.1");
}

/// {the accepted end a connection serves, a raw socket connected to the listener}.
stream_pair tcp_raw_pair() {
  auto listener = transports::listener::tcp("127.0.0.1", 0);
  if (!listener) return {};
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*listener)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  auto raw = socket_pipe_stream(fd, SIZE_MAX, SIZE_MAX);
  auto served = (*listener)->accept();
  if (!served) return {};
  return {std::move(*served), std::move(raw)};
}

scale tcp_scale() {
  scale s;  // full size
  return s;
}

class tcp_integration : public scenario_fixture {};

}  // namespace

TEST_F(tcp_integration, concurrent_messages_both_directions) {
  concurrent_both_directions(tcp_pair, tcp_scale());
}

TEST_F(tcp_integration, one_gib_message_through_files) {
  auto s = tcp_scale();
  s.test_budget = std::chrono::seconds{120};
  huge_file_message(tcp_pair, s);
}

TEST_F(tcp_integration, receiver_aborts_mid_message) {
  disconnect_mid_message(tcp_pair, tcp_scale(), aborting::receiver);
}

TEST_F(tcp_integration, sender_aborts_mid_message) {
  disconnect_mid_message(tcp_pair, tcp_scale(), aborting::sender);
}

TEST_F(tcp_integration, stalled_receiver_throttles_sender) {
  stalled_receiver(tcp_pair, tcp_scale());
}

TEST_F(tcp_integration, garbage_then_valid_frames) {
  garbage_then_valid_frames(tcp_raw_pair, tcp_scale());
}

TEST_F(tcp_integration, ipv6_round_trip) {
  if (!tcp_pair_on("::1").first) GTEST_SKIP() << "IPv6 loopback (::1) is not available";
  auto s = tcp_scale();
  s.message_count = 12;
  s.max_message = 4 * MiB;  // a few spill, most stay in memory
  concurrent_both_directions([] { return tcp_pair_on("::1"); }, s);
}

TEST_F(tcp_integration, unread_messages_removed_at_close) {
  unread_messages_at_close(tcp_pair, tcp_scale());
}
