#pragma once

// A throw-away PKI made with OpenSSL's API at test time (nothing read from disk): EC P-256 keys,
// a CA, server and client certificates signed by it with subjectAltNames, and a second CA that
// nobody trusts. Shared by the transport and integration tests and the TLS benchmark.

#include <netcore/transports/tls.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace netcore::transports::test {

/// A key pair and its certificate, as PEM, plus the certificate's SHA-256.
struct issued {
  std::string cert_pem;
  std::string key_pem;
  std::array<std::uint8_t, 32> sha256{};
};

namespace pki_detail {

struct key_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_free {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string{"test PKI: "} + what);
}

inline key_ptr new_key() {
  key_ptr k{EVP_EC_gen("P-256")};
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `cn`, signed by `issuer` (null: self-signed).
inline cert_ptr new_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                         bool ca, const std::string& san, long serial) {
  cert_ptr x{X509_new()};
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7 * 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("netcore tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  add_ext(x.get(), signer, NID_subject_key_identifier, "hash");
  if (ca) {
    add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x.get(), signer, NID_authority_key_identifier, "keyid:always");
    add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_ext(x.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (!san.empty()) add_ext(x.get(), signer, NID_subject_alt_name, san);
  }
  check(X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return x;
}

inline std::string cert_pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out{data, static_cast<std::size_t>(n)};
  BIO_free(b);
  return out;
}

inline std::string key_pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out{data, static_cast<std::size_t>(n)};
  BIO_free(b);
  return out;
}

inline issued issue(EVP_PKEY* key, X509* cert) {
  issued out;
  out.cert_pem = cert_pem(cert);
  out.key_pem = key_pem(key);
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), out.sha256.data(), &len);
  return out;
}

}  // namespace pki_detail

/// The test PKI: `ca` signs `server` (CN server.test, DNS server.test and localhost, IP
/// 127.0.0.1) and `client` (CN client-7, DNS client-7.test); `rogue_ca` signs `rogue_server`
/// (same names as `server`), which nobody trusts.
struct test_pki {
  std::string ca_pem;
  issued server;
  issued client;
  std::string rogue_ca_pem;
  issued rogue_server;

  static const test_pki& get() {
    static const test_pki pki = make();
    return pki;
  }

  /// A server configuration with `server`'s identity, trusting `ca` for client certificates.
  tls_config server_config(bool require_client_certificate = false) const {
    tls_config c;
    c.role = tls_role::server;
    c.trusted_ca = pem_source::from_text(ca_pem);
    c.certificate_chain = pem_source::from_text(server.cert_pem);
    c.private_key = pem_source::from_text(server.key_pem);
    c.require_client_certificate = require_client_certificate;
    return c;
  }

  /// A client configuration trusting `ca`, for `server_name`, with `client`'s identity if asked.
  tls_config client_config(const std::string& server_name = "server.test",
                           bool with_certificate = true) const {
    tls_config c;
    c.role = tls_role::client;
    c.trusted_ca = pem_source::from_text(ca_pem);
    c.server_name = server_name;
    if (with_certificate) {
      c.certificate_chain = pem_source::from_text(client.cert_pem);
      c.private_key = pem_source::from_text(client.key_pem);
    }
    return c;
  }

 private:
  static test_pki make() {
    using namespace pki_detail;
    test_pki p;
    auto ca_key = new_key();
    auto ca = new_cert(ca_key.get(), "netcore test CA", nullptr, nullptr, true, {}, 1);
    p.ca_pem = cert_pem(ca.get());
    auto server_key = new_key();
    auto server = new_cert(server_key.get(), "server.test", ca.get(), ca_key.get(), false,
                           "DNS:server.test,DNS:localhost,IP:127.0.0.1", 2);
    p.server = issue(server_key.get(), server.get());
    auto client_key = new_key();
    auto client = new_cert(client_key.get(), "client-7", ca.get(), ca_key.get(), false,
                           "DNS:client-7.test", 3);
    p.client = issue(client_key.get(), client.get());
    auto rogue_key = new_key();
    auto rogue = new_cert(rogue_key.get(), "netcore test CA", nullptr, nullptr, true, {}, 1);
    p.rogue_ca_pem = cert_pem(rogue.get());
    auto rs_key = new_key();
    auto rs = new_cert(rs_key.get(), "server.test", rogue.get(), rogue_key.get(), false,
                       "DNS:server.test,DNS:localhost,IP:127.0.0.1", 2);
    p.rogue_server = issue(rs_key.get(), rs.get());
    return p;
  }
};

}  // namespace netcore::transports::test
