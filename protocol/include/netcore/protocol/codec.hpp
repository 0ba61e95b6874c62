#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/result.hpp>

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

/// Payload codecs: raw bytes, UTF-8 text, JSON and MessagePack, tagged by content_type.
/// Decoding never throws: malformed input is codec_errc::decode_failed.
namespace netcore::protocol::codec {

/// Why a body does not decode (a local condition: never travels on the wire as such).
enum class codec_errc : int {
  ok = 0,
  decode_failed = 1,          ///< The body does not parse as its content type.
  content_type_mismatch = 2,  ///< The body carries another content type than the one asked for.
};

/// The category of codec_errc (name "netcore.codec").
const std::error_category& codec_category() noexcept;

inline std::error_code make_error_code(codec_errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}

}  // namespace netcore::protocol::codec

namespace std {
template <>
struct is_error_code_enum<netcore::protocol::codec::codec_errc> : true_type {};
}  // namespace std

namespace netcore::protocol::codec {

/// A decoded value or a codec error.
template <class T>
using result = protocol::result<T, std::error_code>;

/// A body and the content type that tags it in OPEN.
struct encoded {
  content_type type = content_type::raw;
  byte_buffer bytes;
};

/// Raw bytes, as they are.
encoded encode_raw(byte_view bytes);
/// UTF-8 text.
encoded encode_text(std::string_view text);
/// Serialises `value` as JSON text.
encoded encode_json(const nlohmann::json& value);

/// Packs `value` with msgpack-c (any type msgpack-c can pack, e.g. with MSGPACK_DEFINE).
template <class T>
encoded encode_msgpack(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  encoded out;
  out.type = content_type::msgpack;
  out.bytes.assign(reinterpret_cast<const std::uint8_t*>(buf.data()),
                   reinterpret_cast<const std::uint8_t*>(buf.data()) + buf.size());
  return out;
}

/// Checks that `bytes` are valid UTF-8 and returns them as text. Errors: codec_errc::decode_failed.
result<std::string> decode_text(byte_view bytes);

/// Parses JSON. Errors: codec_errc::decode_failed.
result<nlohmann::json> decode_json(byte_view bytes);

namespace detail {

/// Deepest container nesting the structured decoders accept (JSON arrays/objects, MessagePack
/// arrays/maps, empty ones included); deeper input is codec_errc::decode_failed.
inline constexpr std::size_t max_nesting_depth = 64;

/// Unpacks exactly one MessagePack object from `bytes`. The input is first checked without
/// allocating (complete, no trailing bytes, nesting at most max_nesting_depth, every declared
/// element actually present), then unpacked with limits derived from its size, so the memory
/// used stays proportional to `bytes.size()` whatever lengths the input claims.
/// Errors: codec_errc::decode_failed.
result<msgpack::object_handle> unpack_msgpack(byte_view bytes) noexcept;

}  // namespace detail

/// Unpacks exactly one MessagePack object from `bytes` and converts it to T. Errors:
/// codec_errc::decode_failed (malformed, trailing bytes, too deeply nested, or not convertible to
/// T).
template <class T>
result<T> decode_msgpack(byte_view bytes) {
  result<msgpack::object_handle> oh = detail::unpack_msgpack(bytes);
  if (!oh) return oh.error();
  try {
    T value;
    oh->get().convert(value);
    return result<T>(std::move(value));
  } catch (const std::exception&) {
    return std::error_code{codec_errc::decode_failed};
  }
}

/// Decodes a body tagged `type` into JSON whatever its encoding (json, or msgpack converted to
/// JSON). Errors: codec_errc::content_type_mismatch for raw/text, codec_errc::decode_failed.
result<nlohmann::json> decode_structured(content_type type, byte_view bytes);

}  // namespace netcore::protocol::codec
