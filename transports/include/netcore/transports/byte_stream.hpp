#pragma once

#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/result.hpp>
#include <netcore/transports/errors.hpp>
#include <netcore/transports/peer_identity.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace netcore::transports {

using protocol::io_slice;

/// A value or a transport error (an OS error_code, or a transport_errc).
template <class T>
using result = protocol::result<T, std::error_code>;

/// Per-transport tuning the runtime applies to a connection: one chunk on the wire is the unit of
/// delay for every other message, so a slow serial line wants small chunks and a fast socket
/// large ones.
struct stream_profile {
  /// Body bytes per DATA frame.
  std::size_t chunk_size = 64u << 10;
  /// Target bytes per vectored write (many chunks coalesced).
  std::size_t write_batch = 1u << 20;
  /// Bytes asked of each read.
  std::size_t read_size = 256u << 10;
  /// The stream may corrupt or lose bytes (serial lines): the runtime then tolerates and repairs
  /// what a lost frame costs.
  bool lossy = false;
  /// The line rate in bytes per second when the transport knows it (a serial line: baud / 10),
  /// else 0: retransmission timeouts on lossy streams never drop below what packets take at it.
  std::uint64_t bytes_per_second = 0;
};

/// Who the peer of a stream proved to be (an authenticating transport such as TLS): taken from
/// the certificate the peer presented and the stream verified against its trusted CAs.
struct certificate_identity {
  /// The subject's common name (CN), empty when the certificate has none.
  std::string common_name;
  /// The DNS names of the certificate's subjectAltName extension, in its order.
  std::vector<std::string> dns_names;
  /// SHA-256 of the certificate (DER), the value to pin.
  std::array<std::uint8_t, 32> sha256{};

  /// The fingerprint as 64 lowercase hex digits.
  std::string sha256_hex() const;
};

/// An ordered byte stream: what every transport provides.
///
/// Two ways to drive it. Blocking: one thread reads and another writes at the same time, and
/// close() from any thread unblocks both (every stream supports this). Polled: a stream with a
/// descriptor (native_handle() >= 0) may instead be driven by an event loop that waits for
/// readiness and then calls try_read() and try_write(), which never block. Implementations
/// handle short reads and writes themselves; none of the calls throws.
///
/// A decorating stream (TLS) may hold bytes of its own between the caller and the transport, and
/// may need the peer's bytes before it can write: has_pending_output() and write_waits_for_read()
/// tell an event loop so; both are false for every stream that writes straight through.
class byte_stream {
 public:
  virtual ~byte_stream() = default;

  /// Writes every byte of `slices[0..count)`, in order, blocking as needed.
  /// Errors: transport_errc::closed, transport_errc::end_of_stream, or the OS error.
  virtual std::error_code write(const io_slice* slices, std::size_t count) = 0;

  /// Writes as many bytes of `slices[0..count)` as the stream takes without blocking, in order,
  /// and returns how many that was (0 when none). The default takes none. Errors: as write().
  virtual result<std::size_t> try_write(const io_slice* slices, std::size_t count);

  /// Reads at least one and at most `max` bytes into `buf`, blocking until some arrive.
  /// Errors: transport_errc::end_of_stream (the peer closed it), transport_errc::closed, or the
  /// OS error.
  virtual result<std::size_t> read(std::uint8_t* buf, std::size_t max) = 0;

  /// Reads what has arrived, up to `max` bytes, without blocking: 0 when nothing is there yet.
  /// Errors: as read(); transport_errc::not_pollable for streams whose reads block (the default).
  virtual result<std::size_t> try_read(std::uint8_t* buf, std::size_t max);

  /// Polled use: the stream holds output that the transport has not taken yet (bytes try_write()
  /// already reported as written, or output of its own such as TLS handshake records). The loop
  /// then waits for writability and calls try_write() again (with no slices, `count` 0, to only
  /// flush) until this is false. The default: false.
  virtual bool has_pending_output() const noexcept { return false; }

  /// Polled use: the last try_write() took nothing because the stream needs bytes from the peer
  /// first (a TLS handshake in progress). Writability will not help: the loop retries the write
  /// after its next try_read() instead. The default: false.
  virtual bool write_waits_for_read() const noexcept { return false; }

  /// The verified identity of the peer, once the stream authenticated it (a TLS stream whose
  /// handshake is complete and that verified the peer's certificate); empty otherwise and for
  /// streams that do not authenticate (the default). Thread-safe.
  virtual std::optional<certificate_identity> verified_peer() const { return std::nullopt; }

  /// The descriptor an event loop may wait on before try_read()/try_write(), or -1 when the
  /// stream can only be driven by blocking threads (user functions, in-memory pairs). The stream
  /// keeps owning it.
  virtual int native_handle() const noexcept { return -1; }

  /// Ends the writing direction where the transport can (a TCP FIN): the peer reads everything
  /// written so far, then the end of the stream; reading goes on. Returns false (and does
  /// nothing) when the transport has no such thing (ttys, user functions).
  virtual bool shutdown_write() noexcept { return false; }

  /// Closes the stream: pending and later calls fail with transport_errc::closed. Idempotent
  /// and thread-safe; the descriptor itself is released by the destructor.
  virtual void close() noexcept = 0;

  /// Tuning defaults for this kind of stream.
  virtual stream_profile profile() const { return {}; }

  /// A short description for logs and errors (e.g. "tcp 127.0.0.1:4000").
  virtual std::string describe() const = 0;

  /// What a pre-session handshake established about the peer (psk_client(), psk_server());
  /// empty for a plain stream.
  virtual peer_identity peer() const { return {}; }
};

}  // namespace netcore::transports
