#include <netcore/protocol/encoder.hpp>

#include <netcore/protocol/crc32c.hpp>

#include <cassert>

namespace netcore::protocol {

namespace {

frame_header make_header(frame_type type, std::uint64_t id, std::uint64_t argument,
                         std::uint8_t flag_bits = 0) {
  frame_header h;
  h.type = type;
  h.message_id = id;
  h.argument = argument;
  h.flags = flag_bits;
  return h;
}

/// Payloads up to this size are copied into the batch instead of referenced.
constexpr std::size_t small_payload_copy = 512;

/// Reasons and texts are informational: long ones are cut so a frame always fits.
constexpr std::size_t max_text = 4096;
byte_view clamp_text(std::string_view text) {
  return byte_view{text.substr(0, max_text)};
}

std::uint8_t open_flags(const message_meta& meta, const transform_chain& chain) {
  return static_cast<std::uint8_t>((meta.call ? flags::call : 0) |
                                   (chain.empty() ? 0 : flags::transformed));
}

std::uint8_t origin_flag(origin who) {
  return who == origin::remote ? flags::peer_origin : std::uint8_t{0};
}

}  // namespace

void encoder::push_arena(std::size_t offset, std::size_t size) {
  if (size == 0) return;
  // Adjacent arena bytes merge into one slice: fewer iovecs per write.
  if (!segments_.empty() && segments_.back().external == nullptr &&
      segments_.back().offset + segments_.back().size == offset) {
    segments_.back().size += size;
  } else {
    segments_.push_back({nullptr, offset, size});
  }
  slices_valid_ = false;
}

void encoder::push_external(const std::uint8_t* p, std::size_t size) {
  if (size == 0) return;
  segments_.push_back({p, 0, size});
  slices_valid_ = false;
}

void encoder::add_frame(frame_header h, byte_view payload, bool external) {
  assert(payload.size() <= max_wire_payload);
  // Copying a small payload is cheaper than a slice of its own in the vectored write.
  if (payload.size() <= small_payload_copy) external = false;
  h.payload_length = static_cast<std::uint32_t>(payload.size());
  h.payload_crc = crc32c(payload);
  auto at = arena_.size();
  arena_.resize(at + header_size + (external ? 0 : payload.size()));
  pack_header(h, arena_.data() + at);
  if (external) {
    push_arena(at, header_size);
    push_external(payload.data(), payload.size());
  } else {
    if (!payload.empty())
      std::copy(payload.begin(), payload.end(), arena_.begin() + at + header_size);
    push_arena(at, header_size + payload.size());
  }
  total_ += header_size + payload.size();
  ++frames_;
}

void encoder::add_owned_frame(frame_header h, const byte_buffer& payload) {
  add_frame(h, byte_view{payload}, false);
}

void encoder::open(std::uint64_t id, const message_meta& meta, std::uint64_t total_size,
                   const transform_chain& chain) {
  scratch_.clear();
  encode_transforms(chain, scratch_);
  encode_meta(meta, scratch_);
  add_owned_frame(make_header(frame_type::open, id, total_size, open_flags(meta, chain)), scratch_);
}

void encoder::open_single(std::uint64_t id, const message_meta& meta, byte_view body,
                          const transform_chain& chain) {
  // The frame's payload is [transforms] + metadata + body + digest; the body is referenced, so
  // the frame is three segments and its CRC is computed over all three in order.
  scratch_.clear();
  encode_transforms(chain, scratch_);
  encode_meta(meta, scratch_);
  auto meta_len = scratch_.size();
  std::uint8_t digest_bytes[digest_size];
  store_le(digest_bytes, xxh3_64(body), digest_size);
  auto payload_len = meta_len + body.size() + digest_size;
  assert(payload_len <= max_wire_payload);

  auto h = make_header(frame_type::open, id, body.size(),
                       static_cast<std::uint8_t>(flags::single | open_flags(meta, chain)));
  h.payload_length = static_cast<std::uint32_t>(payload_len);
  auto crc = crc32c(byte_view{scratch_});
  crc = crc32c(body, crc);
  crc = crc32c(byte_view{digest_bytes, digest_size}, crc);
  h.payload_crc = crc;

  auto at = arena_.size();
  bool copy_body = body.size() <= small_payload_copy;
  arena_.resize(at + header_size + meta_len + (copy_body ? body.size() : 0));
  pack_header(h, arena_.data() + at);
  std::copy(scratch_.begin(), scratch_.end(), arena_.begin() + at + header_size);
  if (copy_body) {
    if (!body.empty())
      std::copy(body.begin(), body.end(), arena_.begin() + at + header_size + meta_len);
    push_arena(at, header_size + meta_len + body.size());
  } else {
    push_arena(at, header_size + meta_len);
    push_external(body.data(), body.size());
  }
  auto dat = arena_.size();
  arena_.insert(arena_.end(), digest_bytes, digest_bytes + digest_size);
  push_arena(dat, digest_size);
  total_ += header_size + payload_len;
  ++frames_;
}

void encoder::data(std::uint64_t id, std::uint64_t offset, byte_view chunk) {
  add_frame(make_header(frame_type::data, id, offset), chunk, true);
}

void encoder::end(std::uint64_t id, std::uint64_t total_size, digest64 digest) {
  std::uint8_t bytes[digest_size];
  store_le(bytes, digest, digest_size);
  add_frame(make_header(frame_type::end, id, total_size), byte_view{bytes, digest_size}, false);
}

void encoder::cancel(std::uint64_t id, origin who, errc reason, std::string_view text) {
  add_frame(
      make_header(frame_type::cancel, id, static_cast<std::uint64_t>(reason), origin_flag(who)),
      clamp_text(text), false);
}

void encoder::error(std::uint64_t id, origin who, errc code, std::string_view text) {
  add_frame(make_header(frame_type::error, id, static_cast<std::uint64_t>(code), origin_flag(who)),
            clamp_text(text), false);
}

void encoder::credit(std::uint64_t id, std::uint64_t increment) {
  // Credit is granted by a message's receiver, so the id is in the peer's id space.
  auto f = id == 0 ? std::uint8_t{0} : flags::peer_origin;
  add_frame(make_header(frame_type::credit, id, increment, f), {}, false);
}

void encoder::ping(std::uint64_t token) {
  add_frame(make_header(frame_type::ping, 0, token), {}, false);
}

void encoder::pong(std::uint64_t token) {
  add_frame(make_header(frame_type::pong, 0, token), {}, false);
}

void encoder::goaway(errc code, std::string_view text) {
  add_frame(make_header(frame_type::goaway, 0, static_cast<std::uint64_t>(code)), clamp_text(text),
            false);
}

void encoder::hello(const settings& s) {
  scratch_.clear();
  encode_settings(s, scratch_);
  add_owned_frame(make_header(frame_type::hello, 0, 0), scratch_);
}

const std::vector<io_slice>& encoder::slices() {
  if (!slices_valid_) {
    slices_.clear();
    slices_.reserve(segments_.size());
    for (const auto& s : segments_)
      slices_.push_back({s.external ? s.external : arena_.data() + s.offset, s.size});
    slices_valid_ = true;
  }
  return slices_;
}

void encoder::flatten_into(byte_buffer& out) {
  out.reserve(out.size() + total_);
  for (const auto& s : slices()) {
    auto p = static_cast<const std::uint8_t*>(s.data);
    out.insert(out.end(), p, p + s.size);
  }
}

void encoder::clear() noexcept {
  arena_.clear();
  segments_.clear();
  slices_.clear();
  total_ = 0;
  frames_ = 0;
  slices_valid_ = true;
}

}  // namespace netcore::protocol
