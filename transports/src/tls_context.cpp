// Building an OpenSSL context from a tls_config: PEM from text or files, the key checked against
// the certificate, the minimum version, peer verification. Every failure is a typed error with
// OpenSSL's reason, never an exception or an abort.

#include "tls_engine.hpp"

#include <netcore/transports/tls.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace netcore::transports {

namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct ctx_free {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

/// Collects why building failed: the first reason is kept.
struct failure {
  std::string* out;
  std::error_code operator()(const std::string& what) const {
    if (out) {
      auto why = detail::take_openssl_error();
      *out = why.empty() ? what : what + ": " + why;
    }
    ERR_clear_error();
    return transport_errc::tls_bad_config;
  }
};

/// A memory BIO over the PEM text, or a file BIO; null when the file cannot be opened.
bio_ptr open_pem(const pem_source& src) {
  if (!src.text.empty())
    return bio_ptr{BIO_new_mem_buf(src.text.data(), static_cast<int>(src.text.size()))};
  return bio_ptr{BIO_new_file(src.file.c_str(), "r")};
}

std::string name_of(const pem_source& src, const char* what) {
  return src.text.empty() ? std::string{what} + " file " + src.file : std::string{what};
}

/// Every certificate in `src` (at least one), in order.
bool read_certificates(const pem_source& src, std::vector<x509_ptr>& out) {
  auto bio = open_pem(src);
  if (!bio) return false;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  // The loop ends with "no start line" at the end of the input: not an error once one was read.
  if (!out.empty()) ERR_clear_error();
  return !out.empty();
}

std::error_code load_trust(SSL_CTX* ctx, const tls_config& cfg, const failure& fail) {
  if (cfg.trusted_ca.empty()) {
    if (cfg.verify_peer && SSL_CTX_set_default_verify_paths(ctx) != 1)
      return fail("cannot load the system's trusted CAs");
    return {};
  }
  std::vector<x509_ptr> cas;
  if (!read_certificates(cfg.trusted_ca, cas))
    return fail("no certificate in " + name_of(cfg.trusted_ca, "trusted_ca"));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  for (auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return fail("cannot add a trusted CA");
    }
    if (names) sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
  }
  // A server names the CAs it accepts, so that a client picks the right certificate.
  if (cfg.role == tls_role::server && names)
    SSL_CTX_set_client_CA_list(ctx, names);
  else
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  return {};
}

std::error_code load_identity(SSL_CTX* ctx, const tls_config& cfg, const failure& fail) {
  if (cfg.certificate_chain.empty() && cfg.private_key.empty()) return {};
  if (cfg.certificate_chain.empty() || cfg.private_key.empty())
    return fail("certificate_chain and private_key go together");
  std::vector<x509_ptr> chain;
  if (!read_certificates(cfg.certificate_chain, chain))
    return fail("no certificate in " + name_of(cfg.certificate_chain, "certificate_chain"));
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) return fail("unusable certificate");
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      return fail("unusable intermediate certificate");
  auto bio = open_pem(cfg.private_key);
  if (!bio) return fail("cannot open " + name_of(cfg.private_key, "private_key"));
  std::unique_ptr<EVP_PKEY, pkey_free> key{
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key) return fail("no private key in " + name_of(cfg.private_key, "private_key"));
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return fail("the private key does not match the certificate");
  return {};
}

}  // namespace

result<std::shared_ptr<const tls_context>> tls_context::make(const tls_config& cfg,
                                                             std::string* detail) {
  ERR_clear_error();
  const failure fail{detail};
  const bool server = cfg.role == tls_role::server;
  if (server && (cfg.certificate_chain.empty() || cfg.private_key.empty()))
    return fail("a server needs certificate_chain and private_key");
  if (!server && cfg.verify_peer && cfg.server_name.empty())
    return fail("a client that verifies its peer needs server_name");
  if (cfg.require_client_certificate && (!server || !cfg.verify_peer))
    return fail("require_client_certificate is for servers with verify_peer");

  std::unique_ptr<SSL_CTX, ctx_free> ctx{
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())};
  if (!ctx) return fail("cannot create an OpenSSL context");
  const int min = cfg.min_version == tls_min_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx.get(), min) != 1)
    return fail("cannot set the minimum version");
  // No renegotiation, no compression, no session tickets or cache: every connection is a full
  // handshake, and nothing but the handshake and close_notify travels besides the data.
  SSL_CTX_set_options(ctx.get(),
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // TLS 1.3 suites in the order of their cost here (AES-128-GCM first: AES-NI makes both AES
  // suites far cheaper than ChaCha20); all three are strong.
  SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                      "TLS_CHACHA20_POLY1305_SHA256");
  // Take as many records per read of the engine's input as have arrived.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_default_read_buffer_len(ctx.get(), 64u << 10);
  if (auto e = load_trust(ctx.get(), cfg, fail)) return e;
  if (auto e = load_identity(ctx.get(), cfg, fail)) return e;
  int mode = SSL_VERIFY_NONE;
  if (cfg.verify_peer) mode = SSL_VERIFY_PEER;
  if (cfg.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  ERR_clear_error();
  return std::shared_ptr<const tls_context>{new tls_context(cfg, ctx.release())};
}

tls_context::~tls_context() {
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

}  // namespace netcore::transports
