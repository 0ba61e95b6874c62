#pragma once

// The values applications exchange with a connection: outgoing and incoming messages, what became
// of them, and the connection's end and counters. Every one is a CAF message type with inspect(),
// so the typed interfaces (interfaces.hpp) check them at compile time.

#include <netcore/actors/errors.hpp>
#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/message_body.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/reassembler.hpp>
#include <netcore/session/stats.hpp>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace netcore::actors {

/// A message to send: metadata and a body held in memory (shared, never copied by netcore) or
/// streamed from a file without loading it.
struct outgoing_message {
  protocol::message_meta meta;
  /// The body in memory (null = empty); ignored when file_path is set.
  std::shared_ptr<const protocol::byte_buffer> bytes;
  /// A file to stream the body from (read chunk by chunk, never loaded whole).
  std::string file_path;

  /// A message to `route` whose body is `body` (moved into shared storage).
  static outgoing_message from_bytes(std::string route, protocol::byte_buffer body,
                                     protocol::content_type type = protocol::content_type::raw) {
    outgoing_message m;
    m.meta.route = std::move(route);
    m.meta.type = type;
    m.bytes = std::make_shared<const protocol::byte_buffer>(std::move(body));
    return m;
  }
  /// A message to `route` with `text` as its body (content type text).
  static outgoing_message from_text(std::string route, std::string_view text) {
    return from_bytes(std::move(route), protocol::byte_buffer(text.begin(), text.end()),
                      protocol::content_type::text);
  }
  /// A message to `route` whose body is streamed from the file at `path`. A file that cannot be
  /// opened or is no regular file fails the message with the OS error (e.g.
  /// std::errc::no_such_file_or_directory); one that shrinks while it is read fails it with
  /// wire_errc::size_mismatch; a read error with the OS error.
  static outgoing_message from_file(std::string route, std::string path) {
    outgoing_message m;
    m.meta.route = std::move(route);
    m.file_path = std::move(path);
    return m;
  }
  /// Body size when it lives in memory (0 for file bodies).
  std::size_t memory_size() const noexcept { return bytes ? bytes->size() : 0; }
};

/// Many messages in one actor message (amortises the mailbox cost of many small sends).
using outgoing_batch = std::vector<outgoing_message>;

/// What became of an outgoing message: written to the stream in full (error empty), or why not.
/// A message written in full gets a second outcome, with the error, when the receiver refuses it
/// after its last bytes went out (its CANCEL crossed them, e.g. wire_errc::storage_full).
struct send_outcome {
  std::uint64_t id = 0;
  std::error_code error;
  bool ok() const noexcept { return !error; }
};

/// How far an outgoing multi-frame message has got: body bytes written so far, of `total`
/// (protocol::unknown_size while unknown).
struct send_progress {
  std::uint64_t id = 0;
  std::uint64_t written = 0;
  std::uint64_t total = 0;
};

/// An incoming message that failed (limit, storage, digest, cancel, disconnect): the peer's id
/// for it and why. Nothing that arrives fails silently: it is delivered, or reported here.
struct incoming_failure {
  std::uint64_t id = 0;
  std::error_code reason;
};

/// What a connection hands its delivery sink: complete messages in completion order, and
/// incoming messages that failed. Replying caf::ok_atom releases the delivery budget.
struct delivery {
  std::vector<protocol::incoming_message> messages;
  std::vector<incoming_failure> failures;
};

/// A connection ended: `reason` is empty after a clean close (both sides drained), otherwise the
/// wire code, runtime condition or transport error that ended it.
struct connection_closed {
  std::error_code reason;
  /// The transport at the end, e.g. "tcp 127.0.0.1:4000"; a TLS transport that failed adds
  /// OpenSSL's reason ("tls tcp ... (certificate verify failed: hostname mismatch)").
  std::string transport;
  /// What the peer said in words when it ended the connection (its GOAWAY's text, e.g. why a
  /// server refused it); empty when it said nothing.
  std::string peer_text;
  bool clean() const noexcept { return !reason; }
};

/// A connection's counters (session_stats) with its transport and whether it is still open.
struct connection_stats {
  session::session_stats session;
  std::string transport;
  bool open = false;
  /// Deliveries waiting for a delivery sink to be attached.
  std::size_t pending_deliveries = 0;
};

// -- inspect ------------------------------------------------------------------------------------

namespace detail {

/// Inspects a std::error_code field as a caf::error.
template <class Inspector>
typename Inspector::result_type inspect_error(Inspector& f, const char* name, std::uint64_t& id,
                                              std::error_code& ec) {
  caf::error tmp = to_caf_error(ec);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    ec = to_error_code(tmp);
    return caf::none;
  });
  return f(caf::meta::type_name(name), id, tmp, load);
}

}  // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outgoing_message& x) {
  std::vector<std::uint8_t> tmp;
  if (x.bytes) tmp = *x.bytes;
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.bytes = std::make_shared<const protocol::byte_buffer>(std::move(tmp));
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.outgoing_message"), x.meta, tmp, x.file_path, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_outcome& x) {
  return detail::inspect_error(f, "netcore.send_outcome", x.id, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_progress& x) {
  return f(caf::meta::type_name("netcore.send_progress"), x.id, x.written, x.total);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_failure& x) {
  return detail::inspect_error(f, "netcore.incoming_failure", x.id, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery& x) {
  return f(caf::meta::type_name("netcore.delivery"), x.messages, x.failures);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_closed& x) {
  caf::error tmp = to_caf_error(x.reason);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.reason = to_error_code(tmp);
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.connection_closed"), tmp, x.transport, x.peer_text, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_stats& x) {
  auto& s = x.session;
  return f(caf::meta::type_name("netcore.connection_stats"), x.transport, x.open,
           x.pending_deliveries, s.bytes_in, s.bytes_out, s.frames_in, s.frames_out,
           s.messages_sent, s.messages_received, s.resync_bytes_dropped, s.credit_stalls,
           s.open_outgoing, s.open_incoming, s.queued_bytes, s.buffered_bytes,
           s.compressed.messages, s.compressed.plain_bytes, s.compressed.wire_bytes,
           s.decompressed.messages, s.decompressed.plain_bytes, s.decompressed.wire_bytes,
           s.compression_skipped);
}

}  // namespace netcore::actors

namespace netcore::protocol {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header_field& x) {
  return f(caf::meta::type_name("netcore.header_field"), x.name, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_info& x) {
  auto what = static_cast<std::uint8_t>(x.what);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.what = static_cast<call_info::kind>(what);
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.call_info"), what, x.request_id, x.deadline_ms, x.status,
           x.message, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_meta& x) {
  bool has_call = x.call.has_value();
  call_info call = x.call.value_or(call_info{});
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (has_call)
      x.call = std::move(call);
    else
      x.call.reset();
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.message_meta"), x.route, x.type, x.priority, x.headers,
           has_call, call, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_message& x) {
  // The body: its bytes in memory, or the path and size of its file.
  std::vector<std::uint8_t> bytes = x.body.is_file() ? std::vector<std::uint8_t>{} : x.body.bytes();
  std::string path = x.body.path();
  std::uint64_t size = x.body.size();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.body = path.empty() ? message_body::in_memory(std::move(bytes))
                          : message_body::in_file(std::move(path), size);
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.incoming_message"), x.id, x.meta, bytes, path, size, load);
}

}  // namespace netcore::protocol
