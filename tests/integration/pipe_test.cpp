// Integration scenarios over pipe_stream: user-supplied send/receive functions on a Unix socket
// pair that take at most 1000 bytes per send and return at most 777 bytes per receive, so every
// write and read of the runtime is short.

#include "scenarios.hpp"

#include <sys/socket.h>

using namespace netcore;
using namespace netcore::integration;

namespace {

constexpr std::size_t max_send = 1000;
constexpr std::size_t max_recv = 777;

stream_pair short_io_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  return {socket_pipe_stream(fds[0], max_send, max_recv),
          socket_pipe_stream(fds[1], max_send, max_recv)};
}

/// The same user functions without the short limits, for the 1 GiB transfer (1000-byte sends
/// would make it a million system calls; short reads and writes are covered above).
stream_pair large_io_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  return {socket_pipe_stream(fds[0], 1u << 20, 1u << 20),
          socket_pipe_stream(fds[1], 1u << 20, 1u << 20)};
}

scale pipe_scale() {
  scale s;  // full size (every 777 bytes are one read and one message to the receiver actor)
  return s;
}

class pipe_integration : public scenario_fixture {};

}  // namespace

TEST_F(pipe_integration, concurrent_messages_both_directions) {
  concurrent_both_directions(short_io_pair, pipe_scale());
}

TEST_F(pipe_integration, one_gib_message_through_files) {
  huge_file_message(large_io_pair, pipe_scale());
}

TEST_F(pipe_integration, receiver_aborts_mid_message) {
  disconnect_mid_message(short_io_pair, pipe_scale(), aborting::receiver);
}

TEST_F(pipe_integration, sender_aborts_mid_message) {
  disconnect_mid_message(short_io_pair, pipe_scale(), aborting::sender);
}

TEST_F(pipe_integration, stalled_receiver_throttles_sender) {
  stalled_receiver(short_io_pair, pipe_scale());
}

TEST_F(pipe_integration, garbage_then_valid_frames) {
  // The raw end writes through the same short-write functions.
  garbage_then_valid_frames(short_io_pair, pipe_scale());
}

TEST_F(pipe_integration, unread_messages_removed_at_close) {
  unread_messages_at_close(short_io_pair, pipe_scale());
}
