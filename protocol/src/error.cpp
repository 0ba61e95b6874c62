#include <netcore/protocol/error.hpp>

#include <string>

namespace netcore::protocol {

std::string_view to_string(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::header_corrupt:
    return "header_corrupt";
  case errc::unsupported_version:
    return "unsupported_version";
  case errc::frame_too_large:
    return "frame_too_large";
  case errc::payload_corrupt:
    return "payload_corrupt";
  case errc::malformed_frame:
    return "malformed_frame";
  case errc::unknown_message:
    return "unknown_message";
  case errc::duplicate_message:
    return "duplicate_message";
  case errc::offset_mismatch:
    return "offset_mismatch";
  case errc::size_mismatch:
    return "size_mismatch";
  case errc::digest_mismatch:
    return "digest_mismatch";
  case errc::message_too_large:
    return "message_too_large";
  case errc::too_many_messages:
    return "too_many_messages";
  case errc::metadata_too_large:
    return "metadata_too_large";
  case errc::memory_limit:
    return "memory_limit";
  case errc::idle_timeout:
    return "idle_timeout";
  case errc::cancelled:
    return "cancelled";
  case errc::flow_control:
    return "flow_control";
  case errc::flood:
    return "flood";
  case errc::transform_failed:
    return "transform_failed";
  case errc::unsupported_transform:
    return "unsupported_transform";
  case errc::storage_failed:
    return "storage_failed";
  case errc::storage_full:
    return "storage_full";
  case errc::peer_timeout:
    return "peer_timeout";
  case errc::going_away:
    return "going_away";
  case errc::protocol_error:
    return "protocol_error";
  case errc::shutting_down:
    return "shutting_down";
  case errc::refused:
    return "refused";
  case errc::internal_error:
    return "internal_error";
  }
  return "unknown";
}

errc errc_from_wire(std::uint64_t code, errc fallback) noexcept {
  if (code > 1000) return fallback;
  const auto e = static_cast<errc>(static_cast<int>(code));
  return to_string(e) == "unknown" ? fallback : e;
}

namespace {

const char* describe(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return "success";
  case errc::header_corrupt:
    return "frame header corrupt (bad magic or header checksum)";
  case errc::unsupported_version:
    return "unsupported protocol version";
  case errc::frame_too_large:
    return "frame payload larger than the receiver accepts";
  case errc::payload_corrupt:
    return "frame payload checksum mismatch";
  case errc::malformed_frame:
    return "malformed frame payload";
  case errc::unknown_message:
    return "frame for a message that is not open";
  case errc::duplicate_message:
    return "message id already open";
  case errc::offset_mismatch:
    return "data chunk at an unexpected offset";
  case errc::size_mismatch:
    return "message size differs from the declared size";
  case errc::digest_mismatch:
    return "whole-message digest mismatch";
  case errc::message_too_large:
    return "message larger than the receiver accepts";
  case errc::too_many_messages:
    return "too many concurrent messages";
  case errc::metadata_too_large:
    return "message route or headers too large";
  case errc::memory_limit:
    return "in-memory buffering limit exceeded";
  case errc::idle_timeout:
    return "message idle for too long";
  case errc::cancelled:
    return "message cancelled";
  case errc::flow_control:
    return "peer sent more than its flow-control credit";
  case errc::flood:
    return "peer sent control frames faster than allowed";
  case errc::transform_failed:
    return "message body does not decode through its transforms";
  case errc::unsupported_transform:
    return "message transformed in a way the receiver did not announce";
  case errc::storage_failed:
    return "the receiver could not store the body";
  case errc::storage_full:
    return "the receiver has no room for the body (spill quota or disk full)";
  case errc::peer_timeout:
    return "silent for too long";
  case errc::going_away:
    return "peer is going away";
  case errc::protocol_error:
    return "peer violated the protocol";
  case errc::shutting_down:
    return "peer is shutting down";
  case errc::refused:
    return "peer refused the connection";
  case errc::internal_error:
    return "internal error";
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.wire"; }

  std::string message(int value) const override {
    if (const char* text = describe(static_cast<errc>(value))) return text;
    return "unknown netcore error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace netcore::protocol
