#include <netcore/protocol/transform.hpp>

namespace netcore::protocol {

namespace {
constexpr std::size_t step_size = 9;  // id (u8), input size (u64)
}  // namespace

const char* to_string(transform_id t) noexcept {
  switch (t) {
  case transform_id::zstd:
    return "zstd";
  }
  return "unknown";
}

bool transform_chain::push(transform_id id, std::uint64_t input_size) noexcept {
  if (count == max_transforms) return false;
  steps[count++] = {id, input_size};
  return true;
}

bool transform_chain::only_uses(std::uint64_t mask) const noexcept {
  for (std::uint8_t i = 0; i < count; ++i) {
    const std::uint64_t bit = transform_bit(steps[i].id);
    if (bit == 0 || (mask & bit) == 0) return false;
  }
  return true;
}

std::size_t encoded_transforms_size(const transform_chain& c) noexcept {
  return c.empty() ? 0 : 1 + step_size * c.count;
}

void encode_transforms(const transform_chain& c, byte_buffer& out) {
  if (c.empty()) return;
  const std::size_t at = out.size();
  out.resize(at + encoded_transforms_size(c));
  std::uint8_t* p = out.data() + at;
  *p++ = c.count;
  for (std::uint8_t i = 0; i < c.count; ++i) {
    *p++ = static_cast<std::uint8_t>(c.steps[i].id);
    store_le(p, c.steps[i].input_size, 8);
    p += 8;
  }
}

errc decode_transforms(byte_view payload, transform_chain& out, std::size_t& consumed) {
  if (payload.empty()) return errc::malformed_frame;
  const std::size_t count = payload[0];
  if (count == 0 || count > max_transforms) return errc::malformed_frame;
  const std::size_t size = 1 + step_size * count;
  if (payload.size() < size) return errc::malformed_frame;
  transform_chain c;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* p = payload.data() + 1 + step_size * i;
    c.push(static_cast<transform_id>(p[0]), load_le(p + 1, 8));
  }
  out = c;
  consumed = size;
  return errc::ok;
}

}  // namespace netcore::protocol
