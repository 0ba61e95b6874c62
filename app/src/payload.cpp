#include <netcore/app/payload.hpp>

namespace netcore::app {

namespace {

protocol::codec::result<nlohmann::json> structured(const protocol::message_meta& meta,
                                                   const protocol::message_body& body) {
  auto all = body.read_all();
  if (!all) return std::error_code{all.error()};
  return protocol::codec::decode_structured(meta.type, protocol::byte_view{*all});
}

}  // namespace

nlohmann::json json_of(const request& r) {
  auto v = structured(r.meta(), r.body());
  if (!v) throw bad_request("the body is no JSON: " + v.error().message());
  return std::move(*v);
}

protocol::codec::result<nlohmann::json> json_of(const reply& r) {
  return structured(r.meta, r.body);
}

response json_response(const nlohmann::json& value) {
  auto e = protocol::codec::encode_json(value);
  response r;
  r.type = e.type;
  r.body = std::move(e.bytes);
  return r;
}

actors::outgoing_message json_message(std::string route, const nlohmann::json& value) {
  auto e = protocol::codec::encode_json(value);
  return actors::outgoing_message::from_bytes(std::move(route), std::move(e.bytes), e.type);
}

}  // namespace netcore::app
