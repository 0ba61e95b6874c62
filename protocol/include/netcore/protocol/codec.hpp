#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/result.hpp>

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

/// Payload codecs: raw bytes, UTF-8 text, JSON and MessagePack, tagged by content_type.
/// Decoding never throws: malformed input is errc::decode_failed.
namespace netcore::protocol::codec {

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

/// Checks that `bytes` are valid UTF-8 and returns them as text. Errors: errc::decode_failed.
result<std::string> decode_text(byte_view bytes);

/// Parses JSON. Errors: errc::decode_failed.
result<nlohmann::json> decode_json(byte_view bytes);

/// Unpacks exactly one MessagePack object from `bytes` and converts it to T. Errors:
/// errc::decode_failed (malformed, trailing bytes, or not convertible to T).
template <class T>
result<T> decode_msgpack(byte_view bytes) {
  try {
    std::size_t offset = 0;
    msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()),
                                                bytes.size(), offset);
    if (offset != bytes.size()) return errc::decode_failed;
    T value;
    oh.get().convert(value);
    return value;
  } catch (const std::exception&) {
    return errc::decode_failed;
  }
}

/// Decodes a body tagged `type` into JSON whatever its encoding (json, or msgpack converted to
/// JSON). Errors: errc::content_type_mismatch for raw/text, errc::decode_failed.
result<nlohmann::json> decode_structured(content_type type, byte_view bytes);

}  // namespace netcore::protocol::codec
