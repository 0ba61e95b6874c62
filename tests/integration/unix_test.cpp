// Integration scenarios over unix-domain stream sockets: the same scenarios as every transport,
// on a transport that is one file of the library (transports/src/unix_stream.cpp) and runs on the
// same event loop as TCP without any change to the connection.

#include "scenarios.hpp"

#include <netcore/transports/listener.hpp>
#include <netcore/transports/unix_stream.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

using namespace netcore;
using namespace netcore::integration;

namespace {

std::string socket_path() {
  static int n = 0;
  return std::string{NETCORE_INTEGRATION_TMP} + "/unix-" + std::to_string(::getpid()) + "-" +
         std::to_string(++n) + ".sock";
}

/// The connecting end and the accepted end of a fresh unix-domain listener.
stream_pair unix_pair() {
  make_directories(NETCORE_INTEGRATION_TMP);
  const auto path = socket_path();
  auto listener = transports::listener::unix_socket(path);
  if (!listener) return {};
  auto client = transports::unix_connect(path);
  if (!client) return {};
  auto server = (*listener)->accept();
  if (!server) return {};
  return {std::move(*client), std::move(*server)};
}

/// {the accepted end a connection serves, a raw socket connected to the listener}.
stream_pair unix_raw_pair() {
  make_directories(NETCORE_INTEGRATION_TMP);
  const auto path = socket_path();
  auto listener = transports::listener::unix_socket(path);
  if (!listener) return {};
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return {};
  }
  auto raw = socket_pipe_stream(fd, SIZE_MAX, SIZE_MAX);
  auto served = (*listener)->accept();
  if (!served) return {};
  return {std::move(*served), std::move(raw)};
}

class unix_integration : public scenario_fixture {};

}  // namespace

TEST_F(unix_integration, concurrent_messages_both_directions) {
  concurrent_both_directions(unix_pair, scale{});
}

TEST_F(unix_integration, one_gib_message_through_files) {
  auto s = scale{};
  s.test_budget = std::chrono::seconds{120};
  huge_file_message(unix_pair, s);
}

TEST_F(unix_integration, receiver_aborts_mid_message) {
  disconnect_mid_message(unix_pair, scale{}, aborting::receiver);
}

TEST_F(unix_integration, sender_aborts_mid_message) {
  disconnect_mid_message(unix_pair, scale{}, aborting::sender);
}

TEST_F(unix_integration, stalled_receiver_throttles_sender) {
  stalled_receiver(unix_pair, scale{});
}

TEST_F(unix_integration, garbage_then_valid_frames) {
  garbage_then_valid_frames(unix_raw_pair, scale{});
}

TEST_F(unix_integration, unread_messages_removed_at_close) {
  unread_messages_at_close(unix_pair, scale{});
}
