// The reassembler's transformed messages and complete bodies: the transform block checked at
// OPEN against this side's limits (before any of the body arrives), the transforms undone once
// the wire body is complete and verified, and a complete body kept in memory or a spill file.

#include <netcore/protocol/reassembler.hpp>

#include "spill_file.hpp"

#include <algorithm>
#include <utility>

namespace netcore::protocol {

errc reassembler::read_transforms(const frame_view& f, std::uint64_t declared,
                                  transform_chain& chain, std::size_t& consumed) const {
  consumed = 0;
  if ((f.header.flags & flags::transformed) == 0) return errc::ok;
  if (errc e = decode_transforms(f.payload, chain, consumed); e != errc::ok) return e;
  // Bits of transforms this build does not know announce nothing.
  if (!chain.only_uses(limits_.accepted_transforms & known_transforms))
    return errc::unsupported_transform;
  // Every size is known up front, so that each one is checked before anything is allocated.
  if (declared == unknown_size) return errc::malformed_frame;
  const std::uint64_t bound = std::min(limits_.max_decoded_size, limits_.max_message_size);
  if (declared > bound) return errc::message_too_large;
  for (std::uint8_t i = 0; i < chain.count; ++i)
    if (chain.steps[i].input_size > bound) return errc::message_too_large;
  // Could never be held: refuse now instead of after the peer sent all of it.
  if (policy_.spill_directory.empty() && chain.decoded_size() > limits_.max_buffered_bytes)
    return errc::memory_limit;
  return errc::ok;
}

errc reassembler::undo_transforms(const transform_chain& chain, byte_view wire, byte_buffer& out) {
  if (errc e = codec_.undo(chain, wire, out); e != errc::ok) return e;
  ++stats_.decoded;
  stats_.decoded_wire_bytes += wire.size();
  stats_.decoded_bytes += out.size();
  return errc::ok;
}

errc reassembler::decode_body(const transform_chain& chain, message_body& body) {
  // The wire body is at most limits::max_decoded_size (checked at OPEN): read back whole.
  byte_buffer wire;
  if (body.is_file()) {
    result<byte_buffer> bytes = body.read_all();
    body.remove_file();
    if (!bytes) return bytes.error();
    wire = std::move(*bytes);
  } else {
    wire = body.take_bytes();
  }
  body = message_body{};
  byte_buffer decoded;
  if (errc e = undo_transforms(chain, wire, decoded); e != errc::ok) return e;
  byte_buffer().swap(wire);
  return store_complete(byte_view{decoded}, &decoded, body);
}

errc reassembler::store_complete(byte_view content, byte_buffer* owned, message_body& out) {
  const bool can_spill = !policy_.spill_directory.empty();
  const std::uint64_t budget_left =
      buffered_ >= limits_.max_buffered_bytes ? 0 : limits_.max_buffered_bytes - buffered_;
  const bool to_file =
      can_spill && (content.size() > policy_.memory_threshold || content.size() > budget_left);
  if (!to_file && content.size() > budget_left) return errc::memory_limit;
  if (!to_file) {
    out = message_body::in_memory(owned ? std::move(*owned)
                                        : byte_buffer(content.begin(), content.end()));
    return errc::ok;
  }
  result<detail::spill_file> created = detail::spill_file::create(
      policy_.spill_directory, ++file_counter_, policy_.quota, content.size());
  if (!created) return created.error();
  ++stats_.spilled;
  if (errc e = created->append(content); e != errc::ok) return e;
  result<std::string> kept = created->close_and_keep();
  if (!kept) return kept.error();
  out = message_body::in_file(std::move(*kept), content.size());
  return errc::ok;
}

}  // namespace netcore::protocol
