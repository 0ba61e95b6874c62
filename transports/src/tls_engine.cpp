#include "tls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <climits>

namespace netcore::transports::detail {

namespace {

// Each direction of the BIO pair: several full records (16 KiB + overhead each), so that one
// read or write of the inner stream moves many of them.
constexpr std::size_t pair_buffer = 128u << 10;

int clamp_int(std::size_t n) {
  return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace

std::string take_openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return {};
  if (const char* reason = ERR_reason_error_string(e)) return reason;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

result<std::unique_ptr<tls_engine>> tls_engine::make(const tls_context& context,
                                                     const std::string& server_name) {
  const auto& cfg = context.config();
  const bool client = cfg.role == tls_role::client;
  if (client && cfg.verify_peer && server_name.empty())
    return std::error_code{transport_errc::tls_bad_config};
  ERR_clear_error();
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(context.native()));
  if (!ssl) return os_error(ENOMEM);
  BIO* inside = nullptr;
  BIO* net = nullptr;
  if (BIO_new_bio_pair(&inside, pair_buffer, &net, pair_buffer) != 1) {
    SSL_free(ssl);
    return os_error(ENOMEM);
  }
  SSL_set_bio(ssl, inside, inside);  // the SSL owns its end from here
  std::unique_ptr<tls_engine> e{new tls_engine(ssl, net, cfg.verify_peer)};
  if (client) {
    SSL_set_connect_state(ssl);
    if (!server_name.empty()) {
      const bool ip = is_ip_literal(server_name);
      // SNI carries host names only, never addresses (RFC 6066).
      if (!ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1)
        return std::error_code{transport_errc::tls_bad_config};
      if (cfg.verify_peer) {
        auto* param = SSL_get0_param(ssl);
        const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
        if (ok != 1) return std::error_code{transport_errc::tls_bad_config};
      }
    }
  } else {
    SSL_set_accept_state(ssl);
  }
  ERR_clear_error();
  return e;
}

tls_engine::~tls_engine() {
  SSL_free(ssl_);  // frees its end of the pair
  BIO_free(net_);
}

tls_engine::step tls_engine::fail(transport_errc code, std::string detail) {
  error_ = code;
  detail_ = std::move(detail);
  ERR_clear_error();
  return step::failed;
}

tls_engine::step tls_engine::classify(int ret) {
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
  case SSL_ERROR_WANT_READ:
    return step::want_read;
  case SSL_ERROR_WANT_WRITE:
    return step::want_write;
  case SSL_ERROR_ZERO_RETURN:
    ERR_clear_error();
    return step::eof;
  default:
    break;
  }
  const unsigned long e = ERR_peek_error();
  const int reason = ERR_GET_REASON(e);
  const bool unexpected_eof =
      (e == 0 && err == SSL_ERROR_SYSCALL) ||
      (ERR_GET_LIB(e) == ERR_LIB_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (unexpected_eof) {
    // An end without close_notify: the framing above detects truncation (docs/SECURITY.md).
    if (done_) {
      ERR_clear_error();
      return step::eof;
    }
    return fail(transport_errc::tls_handshake_failed,
                "the peer closed the connection during the handshake");
  }
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long v = SSL_get_verify_result(ssl_);
    return fail(transport_errc::tls_verify_failed,
                std::string{"certificate verify failed: "} + X509_verify_cert_error_string(v));
  }
  std::string text = take_openssl_error();
  if (text.empty()) text = "TLS error " + std::to_string(err);
  // A refusal by the peer (an alert) before any data: on a TLS 1.3 client the handshake is
  // complete before the server has checked its certificate.
  const bool alert = ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET;
  if (!done_ || (alert && !app_data_seen_)) return fail(transport_errc::tls_handshake_failed, text);
  return fail(transport_errc::tls_protocol_error, text);
}

tls_engine::step tls_engine::handshake() {
  if (done_) return step::ok;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    return step::ok;
  }
  return classify(r);
}

tls_engine::step tls_engine::write(const std::uint8_t* data, std::size_t n, std::size_t& written) {
  written = 0;
  if (n == 0) return step::ok;
  ERR_clear_error();
  std::size_t w = 0;
  const int r = SSL_write_ex(ssl_, data, n, &w);
  if (r == 1) {
    written = w;
    return step::ok;
  }
  return classify(r);
}

tls_engine::step tls_engine::read(std::uint8_t* buf, std::size_t n, std::size_t& got) {
  got = 0;
  if (n == 0) return step::ok;
  ERR_clear_error();
  std::size_t g = 0;
  const int r = SSL_read_ex(ssl_, buf, n, &g);
  if (r == 1) {
    got = g;
    app_data_seen_ = true;
    return step::ok;
  }
  return classify(r);
}

tls_engine::step tls_engine::shutdown() {
  ERR_clear_error();
  const int r = SSL_shutdown(ssl_);
  if (r >= 0) return step::ok;  // 0: our close_notify is queued; we never wait for the peer's
  return classify(r);
}

std::size_t tls_engine::sure_write_capacity() const {
  // A record is at most 16 KiB of plaintext plus its header, nonce, padding and tag (< 512 bytes
  // for every suite); the slack covers a handshake message (a key update) sent before the data.
  constexpr std::size_t record = 16u << 10;
  constexpr std::size_t per_record = record + 512;
  constexpr std::size_t slack = 1024;
  const std::size_t room = BIO_ctrl_get_write_guarantee(SSL_get_wbio(ssl_));
  if (room < slack + per_record) return 0;
  return (room - slack) / per_record * record;
}

std::size_t tls_engine::output_size() const {
  return BIO_ctrl_pending(net_);
}

io_slice tls_engine::output_chunk() const {
  char* p = nullptr;
  const int n = BIO_nread0(net_, &p);
  if (n <= 0) return {nullptr, 0};
  return {p, static_cast<std::size_t>(n)};
}

void tls_engine::consume_output(std::size_t n) {
  while (n > 0) {
    char* p = nullptr;
    const int k = BIO_nread(net_, &p, clamp_int(n));
    if (k <= 0) return;
    n -= static_cast<std::size_t>(k);
  }
}

std::pair<std::uint8_t*, std::size_t> tls_engine::input_space() {
  char* p = nullptr;
  const int n = BIO_nwrite0(net_, &p);
  if (n <= 0) return {nullptr, 0};
  return {reinterpret_cast<std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

void tls_engine::commit_input(std::size_t n) {
  char* p = nullptr;
  if (n > 0) BIO_nwrite(net_, &p, clamp_int(n));
}

std::size_t tls_engine::input_room() const {
  return BIO_ctrl_get_write_guarantee(net_);
}

std::size_t tls_engine::feed(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  const int k = BIO_write(net_, data, clamp_int(std::min(n, input_room())));
  return k > 0 ? static_cast<std::size_t>(k) : 0;
}

void tls_engine::input_ended() {
  BIO_shutdown_wr(net_);
}

std::optional<certificate_identity> tls_engine::identity() const {
  if (!done_ || !verify_) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert || SSL_get_verify_result(ssl_) != X509_V_OK) return std::nullopt;
  certificate_identity id;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (at >= 0) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    if (n >= 0)
      id.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* s = name->d.dNSName;
    id.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), id.sha256.data(), &len);
  ERR_clear_error();
  return id;
}

}  // namespace netcore::transports::detail
