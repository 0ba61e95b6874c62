#pragma once

// One TLS session in memory, without I/O: OpenSSL's SSL object between a BIO pair. Ciphertext
// goes in through input_space()/commit_input() (or feed()), comes out through
// output_chunk()/consume_output(); plaintext through read() and write(). Not thread-safe: the
// stream that owns it serialises every call.

#include <netcore/transports/tls.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace netcore::transports::detail {

/// OpenSSL's reason for the oldest error in this thread's queue ("" when none); clears the queue.
std::string take_openssl_error();

class tls_engine {
 public:
  /// What an operation did.
  enum class step {
    ok,          ///< done (handshake complete, bytes read or written)
    want_read,   ///< needs ciphertext from the peer first
    want_write,  ///< its output buffer is full: take output first
    eof,         ///< the peer's close_notify, or the end of its ciphertext
    failed,      ///< error() says why
  };

  /// A client or server session (the context's role) for `server_name` (clients; may be empty
  /// when the context does not verify). Errors: tls_bad_config (a verifying client without
  /// name), ENOMEM.
  static result<std::unique_ptr<tls_engine>> make(const tls_context& context,
                                                  const std::string& server_name);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  /// Advances the handshake.
  step handshake();
  bool handshake_done() const noexcept { return done_; }
  /// Encrypts up to `n` bytes; `written` says how many were taken (whole records).
  step write(const std::uint8_t* data, std::size_t n, std::size_t& written);
  /// Decrypts up to `n` bytes into `buf`; `got` says how many.
  step read(std::uint8_t* buf, std::size_t n, std::size_t& got);
  /// Queues close_notify (no more writes afterwards).
  step shutdown();

  /// Plaintext bytes write() is sure to take whole now: whole records that fit the free output
  /// buffer with room to spare for any suite's overhead (0 when less than one record fits).
  std::size_t sure_write_capacity() const;

  /// Ciphertext waiting to be sent, in total and as its next contiguous piece.
  std::size_t output_size() const;
  io_slice output_chunk() const;
  void consume_output(std::size_t n);

  /// Room for ciphertext from the peer (contiguous), and the commit of what was put there.
  std::pair<std::uint8_t*, std::size_t> input_space();
  void commit_input(std::size_t n);
  /// Bytes feed() would take now.
  std::size_t input_room() const;
  /// Copies up to `n` bytes of ciphertext in; returns how many it took.
  std::size_t feed(const std::uint8_t* data, std::size_t n);
  /// The peer's ciphertext ended: reads return eof once what arrived is used up.
  void input_ended();

  /// Why the last step failed, and OpenSSL's reason.
  std::error_code error() const noexcept { return error_; }
  const std::string& detail() const noexcept { return detail_; }
  /// The peer's verified identity (handshake complete, the context verifies peers).
  std::optional<certificate_identity> identity() const;

 private:
  tls_engine(SSL* ssl, BIO* net, bool verify) : ssl_(ssl), net_(net), verify_(verify) {}
  step classify(int ret);
  step fail(transport_errc code, std::string detail);

  SSL* ssl_;
  BIO* net_;  // our end of the pair: ciphertext in and out
  bool verify_;
  bool done_ = false;
  bool app_data_seen_ = false;
  std::error_code error_;
  std::string detail_;
};

}  // namespace netcore::transports::detail
