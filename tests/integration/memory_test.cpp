// Integration scenarios over the in-process memory transport, at full size.

#include "scenarios.hpp"

#include <netcore/transports/memory_stream.hpp>

using namespace netcore;
using namespace netcore::integration;

namespace {

stream_pair memory_pair() {
  auto [a, b] = transports::make_memory_pair();
  return {std::move(a), std::move(b)};
}

scale memory_scale() {
  scale s;  // full size
  return s;
}

class memory_integration : public scenario_fixture {};

}  // namespace

TEST_F(memory_integration, concurrent_messages_both_directions) {
  concurrent_both_directions(memory_pair, memory_scale());
}

TEST_F(memory_integration, one_gib_message_through_files) {
  huge_file_message(memory_pair, memory_scale());
}

TEST_F(memory_integration, receiver_aborts_mid_message) {
  disconnect_mid_message(memory_pair, memory_scale(), aborting::receiver);
}

TEST_F(memory_integration, sender_aborts_mid_message) {
  disconnect_mid_message(memory_pair, memory_scale(), aborting::sender);
}

TEST_F(memory_integration, stalled_receiver_throttles_sender) {
  stalled_receiver(memory_pair, memory_scale());
}

TEST_F(memory_integration, garbage_then_valid_frames) {
  // The raw end is the other half of the memory pair.
  garbage_then_valid_frames(memory_pair, memory_scale());
}

TEST_F(memory_integration, unread_messages_removed_at_close) {
  unread_messages_at_close(memory_pair, memory_scale());
}
