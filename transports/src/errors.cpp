#include <netcore/transports/errors.hpp>

#include <cerrno>
#include <string>

namespace netcore {

std::string_view to_string(transport_errc e) noexcept {
  switch (e) {
  case transport_errc::ok:
    return "ok";
  case transport_errc::end_of_stream:
    return "end_of_stream";
  case transport_errc::closed:
    return "closed";
  case transport_errc::resolution_failed:
    return "resolution_failed";
  case transport_errc::invalid_address:
    return "invalid_address";
  case transport_errc::not_pollable:
    return "not_pollable";
  case transport_errc::invalid_argument:
    return "invalid_argument";
  case transport_errc::auth_failed:
    return "auth_failed";
  case transport_errc::auth_timeout:
    return "auth_timeout";
  case transport_errc::auth_protocol_error:
    return "auth_protocol_error";
  case transport_errc::tls_bad_config:
    return "tls_bad_config";
  case transport_errc::tls_handshake_failed:
    return "tls_handshake_failed";
  case transport_errc::tls_verify_failed:
    return "tls_verify_failed";
  case transport_errc::tls_protocol_error:
    return "tls_protocol_error";
  case transport_errc::tls_handshake_timeout:
    return "tls_handshake_timeout";
  }
  return "unknown";
}

namespace {

const char* describe(transport_errc e) noexcept {
  switch (e) {
  case transport_errc::ok:
    return "success";
  case transport_errc::end_of_stream:
    return "peer closed the stream";
  case transport_errc::closed:
    return "stream closed locally";
  case transport_errc::resolution_failed:
    return "name resolution failed";
  case transport_errc::invalid_address:
    return "invalid address";
  case transport_errc::not_pollable:
    return "stream cannot be polled";
  case transport_errc::invalid_argument:
    return "invalid argument";
  case transport_errc::auth_failed:
    return "authentication failed";
  case transport_errc::auth_timeout:
    return "authentication timed out";
  case transport_errc::auth_protocol_error:
    return "not a netcore authentication handshake";
  case transport_errc::tls_bad_config:
    return "unusable TLS configuration";
  case transport_errc::tls_handshake_failed:
    return "TLS handshake failed";
  case transport_errc::tls_verify_failed:
    return "TLS peer certificate verification failed";
  case transport_errc::tls_protocol_error:
    return "TLS protocol error";
  case transport_errc::tls_handshake_timeout:
    return "TLS handshake timed out";
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.transport"; }
  std::string message(int value) const override {
    if (const char* text = describe(static_cast<transport_errc>(value))) return text;
    return "unknown netcore transport error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& transport_category() noexcept {
  static const category instance;
  return instance;
}

bool is_disconnect(std::error_code ec) noexcept {
  if (ec == transport_errc::end_of_stream || ec == transport_errc::closed) return true;
  if (ec.category() != std::system_category()) return false;
  switch (ec.value()) {
  case ECONNRESET:
  case EPIPE:
  case ECONNABORTED:
  case ENOTCONN:
  case ESHUTDOWN:
  case ETIMEDOUT:
  case EHOSTUNREACH:
  case ENETUNREACH:
  case ENETDOWN:
  case ENETRESET:
  case EIO:
  case ENXIO:
  case EBADF:
    return true;
  default:
    return false;
  }
}

}  // namespace netcore
