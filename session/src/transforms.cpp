// session::core, transforms of outgoing bodies: which apply to a body (this side's configuration
// and what the peer announced), and applying them when a message is queued or, for messages
// queued during the handshake, once the peer's HELLO is in. Incoming bodies are undone by the
// reassembler.

#include "core_state.hpp"

namespace netcore::session {

namespace {

bool in_range(const transform_config& c, std::uint64_t size) noexcept {
  return size >= c.min_size && size <= c.max_size;
}

}  // namespace

bool core::may_transform(std::uint64_t size) const noexcept {
  if (!peer_hello_)
    return (config_.transforms.apply & protocol::known_transforms) != 0 &&
           in_range(config_.transforms, size);
  return transforms_for(size) != 0;
}

std::uint64_t core::transforms_for(std::uint64_t size) const noexcept {
  if (!peer_hello_) return 0;
  const std::uint64_t mask =
      config_.transforms.apply & peer_.accepted_transforms & protocol::known_transforms;
  if (mask == 0 || !in_range(config_.transforms, size) || size > peer_.max_decoded_size) return 0;
  return mask;
}

void core::transform(shared_body& body, std::size_t meta_size, protocol::transform_chain& chain) {
  if (!body) return;
  const std::uint64_t size = body->size();
  const std::uint64_t mask = transforms_for(size);
  if (mask == 0) return;
  // The transform block goes into the OPEN beside the metadata: both must fit one frame.
  constexpr std::size_t largest_block = 1 + 9 * protocol::max_transforms;
  if (meta_size + largest_block > peer_.max_frame_payload) return;
  protocol::transformed_body out;
  if (!codec_.apply(mask, protocol::byte_view{*body}, {config_.transforms.zstd_level}, out)) {
    ++stats_.compression_skipped;
    return;
  }
  ++stats_.compressed.messages;
  stats_.compressed.plain_bytes += size;
  stats_.compressed.wire_bytes += out.bytes.size();
  chain = out.chain;
  body = std::make_shared<const protocol::byte_buffer>(std::move(out.bytes));
}

}  // namespace netcore::session
