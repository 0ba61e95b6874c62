#include <netcore/protocol/metadata.hpp>

#include <netcore/protocol/frame.hpp>

#include <algorithm>

namespace netcore::protocol {

namespace {

constexpr std::size_t meta_fixed = 6;   // priority, content type, route length, header count
constexpr std::size_t call_fixed = 17;  // kind, status, deadline, request id, message length

void put(byte_buffer& out, std::uint64_t v, std::size_t width) {
  auto at = out.size();
  out.resize(at + width);
  store_le(out.data() + at, v, width);
}

void put_bytes(byte_buffer& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

/// Reads fixed-width integers and byte strings from a payload, never past its end.
class reader {
 public:
  explicit reader(byte_view in) : in_(in) {}
  bool read(std::uint64_t& v, std::size_t width) {
    if (in_.size() - pos_ < width) return false;
    v = load_le(in_.data() + pos_, width);
    pos_ += width;
    return true;
  }
  bool read_string(std::string& s, std::uint64_t len) {
    if (in_.size() - pos_ < len) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return true;
  }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return in_.size() - pos_; }

 private:
  byte_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

const char* to_string(content_type t) noexcept {
  switch (t) {
  case content_type::raw:
    return "raw";
  case content_type::text:
    return "text";
  case content_type::json:
    return "json";
  case content_type::msgpack:
    return "msgpack";
  }
  return "unknown";
}

const std::string* message_meta::header(std::string_view name) const noexcept {
  for (const auto& h : headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

std::size_t encoded_meta_size(const message_meta& meta) noexcept {
  std::size_t n = meta_fixed + meta.route.size();
  if (meta.call) n += call_fixed + meta.call->message.size();
  for (const auto& h : meta.headers) n += 2 + h.name.size() + 4 + h.value.size();
  return n;
}

void encode_meta(const message_meta& meta, byte_buffer& out) {
  out.reserve(out.size() + encoded_meta_size(meta));
  if (meta.call) {
    const call_info& c = *meta.call;
    put(out, static_cast<std::uint8_t>(c.what), 1);
    put(out, c.status, 2);
    put(out, c.deadline_ms, 4);
    put(out, c.request_id, 8);
    put(out, c.message.size(), 2);
    put_bytes(out, c.message);
  }
  put(out, meta.priority, 1);
  put(out, static_cast<std::uint8_t>(meta.type), 1);
  put(out, meta.route.size(), 2);
  put(out, meta.headers.size(), 2);
  put_bytes(out, meta.route);
  for (const auto& h : meta.headers) {
    put(out, h.name.size(), 2);
    put_bytes(out, h.name);
    put(out, h.value.size(), 4);
    put_bytes(out, h.value);
  }
}

errc decode_meta(byte_view payload, const limits& lim, message_meta& out, std::size_t& consumed,
                 std::uint8_t frame_flags) {
  reader r{payload};
  out.call.reset();
  if ((frame_flags & flags::call) != 0) {
    std::uint64_t what = 0, status = 0, deadline = 0, request = 0, text_len = 0;
    if (!r.read(what, 1) || !r.read(status, 2) || !r.read(deadline, 4) || !r.read(request, 8) ||
        !r.read(text_len, 2))
      return errc::malformed_frame;
    if (r.pos() + text_len > lim.max_metadata_bytes) return errc::metadata_too_large;
    call_info c;
    if (what < 1 || what > 3) return errc::malformed_frame;
    c.what = static_cast<call_info::kind>(what);
    // A request is named by its own message id; the others must name one.
    if ((c.what == call_info::kind::request) != (request == 0)) return errc::malformed_frame;
    c.request_id = request;
    c.deadline_ms = static_cast<std::uint32_t>(deadline);
    c.status = static_cast<std::uint16_t>(status);
    if (!r.read_string(c.message, text_len)) return errc::malformed_frame;
    out.call = std::move(c);
  }
  std::uint64_t priority = 0, type = 0, route_len = 0, count = 0;
  if (!r.read(priority, 1) || !r.read(type, 1) || !r.read(route_len, 2) || !r.read(count, 2))
    return errc::malformed_frame;
  if (route_len > lim.max_route_length || count > lim.max_headers) return errc::metadata_too_large;
  out.priority = static_cast<std::uint8_t>(priority);
  out.type = static_cast<content_type>(type);
  if (!r.read_string(out.route, route_len)) return errc::malformed_frame;
  out.headers.clear();
  out.headers.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    header_field h;
    std::uint64_t len = 0;
    if (!r.read(len, 2)) return errc::malformed_frame;
    if (r.pos() + len > lim.max_metadata_bytes) return errc::metadata_too_large;
    if (!r.read_string(h.name, len) || !r.read(len, 4)) return errc::malformed_frame;
    if (r.pos() + len > lim.max_metadata_bytes) return errc::metadata_too_large;
    if (!r.read_string(h.value, len)) return errc::malformed_frame;
    out.headers.push_back(std::move(h));
  }
  if (r.pos() > lim.max_metadata_bytes) return errc::metadata_too_large;
  consumed = r.pos();
  return errc::ok;
}

namespace {
enum setting_id : std::uint16_t {
  max_frame_payload_id = 1,
  initial_message_credit_id = 2,
  initial_connection_credit_id = 3,
  max_concurrent_messages_id = 4,
  max_message_size_id = 5,
  accepted_transforms_id = 6,
  max_decoded_size_id = 7,
};
constexpr std::size_t setting_size = 10;
}  // namespace

void encode_settings(const settings& s, byte_buffer& out) {
  auto add = [&out](std::uint16_t id, std::uint64_t v) {
    put(out, id, 2);
    put(out, v, 8);
  };
  add(max_frame_payload_id, s.max_frame_payload);
  add(initial_message_credit_id, s.initial_message_credit);
  add(initial_connection_credit_id, s.initial_connection_credit);
  add(max_concurrent_messages_id, s.max_concurrent_messages);
  add(max_message_size_id, s.max_message_size);
  add(accepted_transforms_id, s.accepted_transforms);
  add(max_decoded_size_id, s.max_decoded_size);
}

errc decode_settings(byte_view payload, settings& out) {
  if (payload.size() % setting_size != 0) return errc::malformed_frame;
  settings s = out;
  for (std::size_t at = 0; at < payload.size(); at += setting_size) {
    auto id = load_le(payload.data() + at, 2);
    auto v = load_le(payload.data() + at + 2, 8);
    switch (id) {
    case max_frame_payload_id:
      if (v < min_frame_payload || v > max_wire_payload) return errc::malformed_frame;
      s.max_frame_payload = static_cast<std::uint32_t>(v);
      break;
    case initial_message_credit_id:
      if (v == 0) return errc::malformed_frame;
      s.initial_message_credit = v;
      break;
    case initial_connection_credit_id:
      if (v == 0) return errc::malformed_frame;
      s.initial_connection_credit = v;
      break;
    case max_message_size_id:
      s.max_message_size = v;
      break;
    case accepted_transforms_id:
      s.accepted_transforms = v;
      break;
    case max_decoded_size_id:
      s.max_decoded_size = v;
      break;
    case max_concurrent_messages_id:
      s.max_concurrent_messages =
          static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
      break;
    default:
      break;  // unknown settings are ignored
    }
  }
  out = s;
  return errc::ok;
}

}  // namespace netcore::protocol
