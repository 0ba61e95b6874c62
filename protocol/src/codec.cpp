#include <netcore/protocol/codec.hpp>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace netcore::protocol::codec {

namespace {

using detail::max_nesting_depth;

/// Strict UTF-8 (Unicode, table 3-7 "Well-Formed UTF-8 Byte Sequences"): no overlong forms, no
/// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
bool valid_utf8(const std::uint8_t* p, std::size_t n) noexcept {
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {  // ASCII fast path, eight bytes at a time
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const std::uint8_t lead = p[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint8_t lo = 0x80;  // range of the second byte; later bytes are always 80..BF
    std::uint8_t hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      len = 2;
    } else if (lead == 0xE0) {
      len = 3;
      lo = 0xA0;  // overlong below U+0800
    } else if (lead == 0xED) {
      len = 3;
      hi = 0x9F;  // surrogates
    } else if (lead >= 0xE1 && lead <= 0xEF) {
      len = 3;
    } else if (lead == 0xF0) {
      len = 4;
      lo = 0x90;  // overlong below U+10000
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      len = 4;
    } else if (lead == 0xF4) {
      len = 4;
      hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 (overlong ASCII) or F5..FF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

bool valid_utf8(const char* p, std::size_t n) noexcept {
  return valid_utf8(reinterpret_cast<const std::uint8_t*>(p), n);
}

/// Checks what nlohmann::json::parse does not: that arrays/objects nest at most
/// max_nesting_depth deep (exact for valid JSON: brackets inside strings are skipped; invalid
/// JSON is rejected by the parser anyway), and that there is no NUL byte (the parser takes one
/// outside a string for the end of input and would ignore whatever follows; valid JSON never
/// contains one, not even inside a string).
bool json_prescan_ok(byte_view bytes) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t c = p[i];
    if (c == 0) return false;
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
        if (i < n && p[i] == 0) return false;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_nesting_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::uint64_t load_be(const std::uint8_t* p, std::size_t width) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | p[i];
  return v;
}

/// Walks `bytes` as one MessagePack object without allocating. Succeeds only when the bytes
/// hold exactly one complete object, every length and element count it declares is backed by
/// bytes actually present, and containers nest at most max_nesting_depth deep. Runs in time
/// linear in the input.
bool msgpack_well_formed(byte_view bytes) noexcept {
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  std::size_t pos = 0;
  // pending[d]: objects still to read at nesting level d; level 0 holds the top-level object.
  std::uint64_t pending[max_nesting_depth + 1];
  std::size_t level = 0;
  pending[0] = 1;

  // Reads a big-endian length field of `width` bytes at pos.
  auto read_length = [&](std::size_t width, std::uint64_t& out) noexcept {
    if (n - pos < width) return false;
    out = load_be(p + pos, width);
    pos += width;
    return true;
  };

  for (;;) {
    while (pending[level] == 0) {
      if (level == 0) return pos == n;  // no trailing bytes
      --level;
    }
    if (pos >= n) return false;  // truncated
    const std::uint8_t tag = p[pos++];
    --pending[level];

    std::uint64_t skip = 0;   // payload bytes that follow the header
    std::uint64_t items = 0;  // objects a container holds (a map: keys and values)
    bool container = false;
    if (tag <= 0x7F || tag >= 0xE0) {  // positive / negative fixint
    } else if (tag <= 0x8F) {          // fixmap
      container = true;
      items = 2u * (tag & 0x0Fu);
    } else if (tag <= 0x9F) {  // fixarray
      container = true;
      items = tag & 0x0Fu;
    } else if (tag <= 0xBF) {  // fixstr
      skip = tag & 0x1Fu;
    } else {
      switch (tag) {
      case 0xC0:  // nil
      case 0xC2:  // false
      case 0xC3:  // true
        break;
      case 0xC4:  // bin 8
      case 0xD9:  // str 8
        if (!read_length(1, skip)) return false;
        break;
      case 0xC5:  // bin 16
      case 0xDA:  // str 16
        if (!read_length(2, skip)) return false;
        break;
      case 0xC6:  // bin 32
      case 0xDB:  // str 32
        if (!read_length(4, skip)) return false;
        break;
      case 0xC7:  // ext 8: length, type, data
        if (!read_length(1, skip)) return false;
        skip += 1;
        break;
      case 0xC8:  // ext 16
        if (!read_length(2, skip)) return false;
        skip += 1;
        break;
      case 0xC9:  // ext 32
        if (!read_length(4, skip)) return false;
        skip += 1;
        break;
      case 0xCC:  // uint 8
      case 0xD0:  // int 8
        skip = 1;
        break;
      case 0xCD:  // uint 16
      case 0xD1:  // int 16
        skip = 2;
        break;
      case 0xCA:  // float 32
      case 0xCE:  // uint 32
      case 0xD2:  // int 32
        skip = 4;
        break;
      case 0xCB:  // float 64
      case 0xCF:  // uint 64
      case 0xD3:  // int 64
        skip = 8;
        break;
      case 0xD4:  // fixext 1..16: type, then 1, 2, 4, 8 or 16 data bytes
        skip = 1 + 1;
        break;
      case 0xD5:
        skip = 1 + 2;
        break;
      case 0xD6:
        skip = 1 + 4;
        break;
      case 0xD7:
        skip = 1 + 8;
        break;
      case 0xD8:
        skip = 1 + 16;
        break;
      case 0xDC:  // array 16
        container = true;
        if (!read_length(2, items)) return false;
        break;
      case 0xDD:  // array 32
        container = true;
        if (!read_length(4, items)) return false;
        break;
      case 0xDE:  // map 16
        container = true;
        if (!read_length(2, items)) return false;
        items *= 2;
        break;
      case 0xDF:  // map 32
        container = true;
        if (!read_length(4, items)) return false;
        items *= 2;
        break;
      default:  // 0xC1 is never used
        return false;
      }
    }
    if (skip > n - pos) return false;
    pos += static_cast<std::size_t>(skip);
    if (container) {
      if (level == max_nesting_depth) return false;
      if (items > n - pos) return false;  // every object takes at least one byte
      pending[++level] = items;
    }
  }
}

/// Converts an unpacked MessagePack object to JSON. `depth` is the number of containers around
/// `o`. Fails on a map key that is not a string and on a string that is not valid UTF-8 (JSON
/// strings are UTF-8, and nlohmann::json refuses to serialise anything else).
bool to_json(const msgpack::object& o, std::size_t depth, nlohmann::json& out) {
  switch (o.type) {
  case msgpack::type::NIL:
    out = nullptr;
    return true;
  case msgpack::type::BOOLEAN:
    out = o.via.boolean;
    return true;
  case msgpack::type::POSITIVE_INTEGER:
    out = o.via.u64;
    return true;
  case msgpack::type::NEGATIVE_INTEGER:
    out = o.via.i64;
    return true;
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    out = o.via.f64;
    return true;
  case msgpack::type::STR:
    if (!valid_utf8(o.via.str.ptr, o.via.str.size)) return false;
    out = std::string(o.via.str.ptr, o.via.str.size);
    return true;
  case msgpack::type::BIN: {
    const auto* b = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
    out = nlohmann::json::binary(std::vector<std::uint8_t>(b, b + o.via.bin.size));
    return true;
  }
  case msgpack::type::EXT: {
    // As nlohmann::json::from_msgpack does: binary data with the ext type as its subtype.
    const auto* b = reinterpret_cast<const std::uint8_t*>(o.via.ext.data());
    out = nlohmann::json::binary(std::vector<std::uint8_t>(b, b + o.via.ext.size),
                                 static_cast<std::uint8_t>(o.via.ext.type()));
    return true;
  }
  case msgpack::type::ARRAY: {
    if (depth >= max_nesting_depth) return false;
    out = nlohmann::json::array();
    auto& array = out.get_ref<nlohmann::json::array_t&>();
    array.reserve(o.via.array.size);
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      nlohmann::json element;
      if (!to_json(o.via.array.ptr[i], depth + 1, element)) return false;
      array.push_back(std::move(element));
    }
    return true;
  }
  case msgpack::type::MAP: {
    if (depth >= max_nesting_depth) return false;
    out = nlohmann::json::object();
    auto& object = out.get_ref<nlohmann::json::object_t&>();
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      const msgpack::object_kv& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) return false;
      if (!valid_utf8(kv.key.via.str.ptr, kv.key.via.str.size)) return false;
      nlohmann::json value;
      if (!to_json(kv.val, depth + 1, value)) return false;
      // A repeated key keeps its last value, as nlohmann::json::parse does.
      object[std::string(kv.key.via.str.ptr, kv.key.via.str.size)] = std::move(value);
    }
    return true;
  }
  }
  return false;
}

}  // namespace

namespace detail {

result<msgpack::object_handle> unpack_msgpack(byte_view bytes) noexcept {
  if (!msgpack_well_formed(bytes)) return std::error_code{codec_errc::decode_failed};
  try {
    // Second line of defence: no declared size may exceed what the input can hold (an array
    // element takes at least one byte, a map entry two).
    const std::size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n / 2, n, n, n, max_nesting_depth);
    std::size_t offset = 0;
    msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n,
                                                offset, nullptr, nullptr, limit);
    if (offset != n) return std::error_code{codec_errc::decode_failed};
    return result<msgpack::object_handle>(std::move(oh));
  } catch (...) {
    return std::error_code{codec_errc::decode_failed};
  }
}

}  // namespace detail

encoded encode_raw(byte_view bytes) {
  encoded out;
  out.type = content_type::raw;
  out.bytes.assign(bytes.begin(), bytes.end());
  return out;
}

encoded encode_text(std::string_view text) {
  encoded out;
  out.type = content_type::text;
  out.bytes.assign(text.begin(), text.end());
  return out;
}

encoded encode_json(const nlohmann::json& value) {
  const std::string text = value.dump();
  encoded out;
  out.type = content_type::json;
  out.bytes.assign(text.begin(), text.end());
  return out;
}

result<std::string> decode_text(byte_view bytes) {
  if (!valid_utf8(bytes.data(), bytes.size())) return std::error_code{codec_errc::decode_failed};
  try {
    return std::string(bytes.as_chars());
  } catch (...) {
    return std::error_code{codec_errc::decode_failed};
  }
}

result<nlohmann::json> decode_json(byte_view bytes) {
  if (!json_prescan_ok(bytes)) return std::error_code{codec_errc::decode_failed};
  try {
    nlohmann::json value = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (value.is_discarded()) return std::error_code{codec_errc::decode_failed};
    return result<nlohmann::json>(std::move(value));
  } catch (...) {
    return std::error_code{codec_errc::decode_failed};
  }
}

result<nlohmann::json> decode_structured(content_type type, byte_view bytes) {
  switch (type) {
  case content_type::json:
    return decode_json(bytes);
  case content_type::msgpack: {
    result<msgpack::object_handle> oh = detail::unpack_msgpack(bytes);
    if (!oh) return oh.error();
    try {
      nlohmann::json value;
      if (!to_json(oh->get(), 0, value)) return std::error_code{codec_errc::decode_failed};
      return result<nlohmann::json>(std::move(value));
    } catch (...) {
      return std::error_code{codec_errc::decode_failed};
    }
  }
  case content_type::raw:
  case content_type::text:
    break;
  }
  return std::error_code{codec_errc::content_type_mismatch};
}

namespace {

class codec_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.codec"; }
  std::string message(int value) const override {
    switch (static_cast<codec_errc>(value)) {
    case codec_errc::ok:
      return "success";
    case codec_errc::decode_failed:
      return "message body does not decode as its content type";
    case codec_errc::content_type_mismatch:
      return "message body has another content type";
    }
    return "unknown netcore codec error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& codec_category() noexcept {
  static const codec_category_impl instance;
  return instance;
}

}  // namespace netcore::protocol::codec
