#pragma once

// TLS over any byte_stream (OpenSSL 3). The decorator keeps OpenSSL's records in memory (a BIO
// pair): it reads ciphertext from the stream it wraps and writes ciphertext to it, so the same
// code runs over TCP, unix sockets, serial lines and in-memory pairs, blocking or polled.

#include <netcore/transports/byte_stream.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace netcore::transports {

/// Which end of the handshake a stream takes.
enum class tls_role { client, server };

/// The oldest protocol version a stream accepts.
enum class tls_min_version { tls1_2, tls1_3 };

/// PEM data, given as text or as the path of a file holding it (text wins when both are set).
struct pem_source {
  std::string text;
  std::string file;

  static pem_source from_text(std::string pem) { return {std::move(pem), {}}; }
  static pem_source from_file(std::string path) { return {{}, std::move(path)}; }
  bool empty() const noexcept { return text.empty() && file.empty(); }
};

/// How a TLS stream authenticates itself and its peer.
struct tls_config {
  tls_role role = tls_role::client;
  /// CA certificates that may sign the peer's certificate (one or more PEM blocks). Empty: the
  /// system's default trust store (OpenSSL's default paths).
  pem_source trusted_ca;
  /// This end's certificate, followed by its intermediates (PEM). Required for servers; a client
  /// sends it when a server asks (mutual TLS).
  pem_source certificate_chain;
  /// The private key of certificate_chain's first certificate (PEM, unencrypted).
  pem_source private_key;
  /// Verify the peer's certificate against trusted_ca (and, on a client, server_name). A server
  /// with verify_peer asks clients for a certificate and verifies one if sent.
  bool verify_peer = true;
  /// Client: the server's name, sent for SNI and checked against its certificate (DNS name, or
  /// an IP address literal checked against its IP SANs). Required while verify_peer is on.
  std::string server_name;
  /// Server: clients without a valid certificate fail the handshake (mutual TLS). Needs
  /// verify_peer.
  bool require_client_certificate = false;
  tls_min_version min_version = tls_min_version::tls1_2;
  /// The handshake must complete within this time from the stream's first use, else it fails
  /// with transport_errc::tls_handshake_timeout (0: no limit). Blocking use: a thread waiting for
  /// the handshake the other one performs closes the inner stream when the time is up, which
  /// unblocks it. Polled use: checked whenever the loop calls the stream; a peer that sends
  /// nothing at all is ended by the connection's own handshake_timeout (no HELLO).
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Blocking use: the longest shutdown_write() waits behind a write in progress to send its
  /// close_notify; past it, it sends none and returns false.
  std::chrono::milliseconds close_timeout{2'000};
};

/// The configuration compiled into an OpenSSL context (SSL_CTX): certificates parsed, the key
/// checked against the certificate, verification set up. Build one per configuration and share
/// it among all streams of that configuration (a server makes it once, not per connection);
/// immutable and thread-safe. Streams keep it alive as long as they need it.
class tls_context {
 public:
  /// Builds the context. Errors: transport_errc::tls_bad_config (a server without certificate or
  /// key, a client verifying without server_name, require_client_certificate without
  /// verify_peer or on a client, PEM that does not parse, a file that cannot be read, a key that
  /// does not match the certificate); `detail`, when given, receives OpenSSL's reason.
  static result<std::shared_ptr<const tls_context>> make(const tls_config& config,
                                                         std::string* detail = nullptr);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  const tls_config& config() const noexcept { return config_; }
  /// The OpenSSL SSL_CTX* (as void*, to keep OpenSSL's headers out of this one); owned here.
  void* native() const noexcept { return ctx_; }

 private:
  tls_context(tls_config config, void* ctx) : config_(std::move(config)), ctx_(ctx) {}
  tls_config config_;
  void* ctx_;
};

/// A TLS stream over `inner`, which it owns from here (also on failure, when it is destroyed).
/// Nothing happens at construction: the handshake runs on the first read or write, in the mode
/// the caller drives the stream in (blocking read()/write() from two threads, or polled
/// try_read()/try_write() on native_handle() = inner's; do not mix them). `server_name`
/// overrides the context's for this client stream (empty: the context's).
///
/// Errors at construction: transport_errc::invalid_argument (no inner stream or context),
/// transport_errc::tls_bad_config (a client verifying without a server name), ENOMEM. Errors of
/// reads and writes: tls_handshake_failed, tls_verify_failed, tls_protocol_error,
/// tls_handshake_timeout, or those of the inner stream; the end of the inner stream, with or
/// without the peer's close_notify, is transport_errc::end_of_stream (netcore's framing detects
/// truncation: docs/SECURITY.md). describe() appends OpenSSL's reason once the stream failed.
///
/// shutdown_write() sends close_notify and then half-closes the inner stream where it can;
/// close() never waits for the peer's close_notify. verified_peer() gives the peer's identity
/// once the handshake completed and verified the peer's certificate.
result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              std::shared_ptr<const tls_context> context,
                                              const std::string& server_name = {});

/// As above, with a context made for this one stream. Errors: as tls_context::make and above.
result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              const tls_config& config,
                                              std::string* detail = nullptr);

}  // namespace netcore::transports
