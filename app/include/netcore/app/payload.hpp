#pragma once

// JSON (nlohmann-json) and MessagePack (msgpack-c) bodies for requests, responses and replies.
// A handler that decodes a body it cannot use throws app::bad_request (the decoders below do):
// the endpoint answers status::bad_request with the reason, after the error handlers had their
// say.

#include <netcore/actors/messages.hpp>
#include <netcore/app/call.hpp>
#include <netcore/protocol/codec.hpp>

#include <stdexcept>
#include <string>

namespace netcore::app {

/// Thrown by a handler (or the decoders below) for a request it cannot use: answered
/// status::bad_request with what() as the reason.
class bad_request : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The body of `r` as JSON (a JSON body, or MessagePack converted). Throws bad_request when it
/// is neither or does not decode.
nlohmann::json json_of(const request& r);

/// The body of `r` as MessagePack converted to T. Throws bad_request when it does not decode or
/// convert.
template <class T>
T msgpack_of(const request& r) {
  auto all = r.body().read_all();
  if (!all) throw bad_request("the body cannot be read: " + std::error_code{all.error()}.message());
  auto v = protocol::codec::decode_msgpack<T>(protocol::byte_view{*all});
  if (!v) throw bad_request("the body is no MessagePack of the expected shape");
  return std::move(*v);
}

/// An ok response whose body is `value` as JSON.
response json_response(const nlohmann::json& value);

/// An ok response whose body is `value` packed with MessagePack.
template <class T>
response msgpack_response(const T& value) {
  auto e = protocol::codec::encode_msgpack(value);
  response r;
  r.type = e.type;
  r.body = std::move(e.bytes);
  return r;
}

/// A message to `route` whose body is `value` as JSON.
actors::outgoing_message json_message(std::string route, const nlohmann::json& value);

/// The body of a reply as JSON. Errors: codec_errc::content_type_mismatch (raw or text),
/// codec_errc::decode_failed, the storage error of a file body that cannot be read.
protocol::codec::result<nlohmann::json> json_of(const reply& r);

}  // namespace netcore::app
