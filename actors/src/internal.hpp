#pragma once

// Messages between the runtime's own actors (never installed): a connection and its message
// producers, its reader and writer threads, its event-loop readiness and its timers. Each one is
// part of a typed interface, so a connection accepts exactly its public interface plus these.

#include <netcore/actors/interfaces.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <memory>
#include <vector>

namespace netcore::actors::detail {

// -- atoms --------------------------------------------------------------------------------------

using chunk_atom = caf::atom_constant<caf::atom("nc_chunk")>;      // producer → connection
using window_atom = caf::atom_constant<caf::atom("nc_window")>;    // connection → producer
using readable_atom = caf::atom_constant<caf::atom("nc_readbl")>;  // event loop → connection
using writable_atom = caf::atom_constant<caf::atom("nc_writbl")>;  // event loop → connection
using bytes_atom = caf::atom_constant<caf::atom("nc_bytes")>;      // reader thread → connection
using ended_atom = caf::atom_constant<caf::atom("nc_ended")>;      // reader thread → connection
using write_atom = caf::atom_constant<caf::atom("nc_write")>;      // connection → writer thread
using written_atom = caf::atom_constant<caf::atom("nc_written")>;  // writer thread → connection
using read_atom = caf::atom_constant<caf::atom("nc_read")>;        // reader thread → itself
using tick_atom = caf::atom_constant<caf::atom("nc_tick")>;        // timer → connection
using ack_atom = caf::atom_constant<caf::atom("nc_ack")>;          // built-in inbox → connection
using linger_atom = caf::atom_constant<caf::atom("nc_linger")>;    // timer → connection
using flush_atom = caf::atom_constant<caf::atom("nc_flush")>;      // connection → itself
using drain_atom = caf::atom_constant<caf::atom("nc_drain")>;  // connection façade → connection

/// The generation of ticks that come from a wire's own timer (always current).
inline constexpr std::uint64_t wire_tick = ~std::uint64_t{0};

// -- values -------------------------------------------------------------------------------------

/// A piece of an outgoing body from its producer: bytes kept alive by `owner` until written;
/// `last` marks the end, with the digest of the whole body.
struct produced_chunk {
  protocol::byte_view bytes;
  std::shared_ptr<const void> owner;
  bool last = false;
  protocol::digest64 digest = 0;
};

/// Bytes the reader thread read (a reused buffer and how much of it is filled).
struct read_buffer {
  std::shared_ptr<protocol::byte_buffer> bytes;
  std::size_t size = 0;
};

/// A batch for the writer thread: the session's slices, kept valid by `owner` for as long as the
/// job exists (the session may end while the writer still writes).
struct write_job {
  std::vector<protocol::io_slice> slices;
  std::size_t size = 0;
  std::shared_ptr<const void> owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, produced_chunk& x) {
  std::vector<std::uint8_t> tmp(x.bytes.begin(), x.bytes.end());
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto owned = std::make_shared<const protocol::byte_buffer>(std::move(tmp));
    x.bytes = protocol::byte_view{*owned};
    x.owner = std::move(owned);
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.produced_chunk"), tmp, x.last, x.digest, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_buffer& x) {
  std::vector<std::uint8_t> tmp;
  if (x.bytes) tmp.assign(x.bytes->begin(), x.bytes->begin() + static_cast<long>(x.size));
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.size = tmp.size();
    x.bytes = std::make_shared<protocol::byte_buffer>(std::move(tmp));
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.read_buffer"), tmp, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_job& x) {
  std::vector<std::uint8_t> tmp;
  tmp.reserve(x.size);
  for (const auto& s : x.slices) {
    auto p = static_cast<const std::uint8_t*>(s.data);
    tmp.insert(tmp.end(), p, p + s.size);
  }
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto owned = std::make_shared<const protocol::byte_buffer>(std::move(tmp));
    x.size = owned->size();
    x.slices = {protocol::io_slice{owned->data(), owned->size()}};
    x.owner = std::move(owned);
    return caf::none;
  });
  return f(caf::meta::type_name("netcore.write_job"), tmp, load);
}

// -- interfaces ---------------------------------------------------------------------------------

/// What a connection actor really accepts: its public interface and the runtime's own messages.
using connection_impl_actor = connection_actor::extend<
    caf::reacts_to<chunk_atom, std::uint64_t, produced_chunk>,
    caf::reacts_to<chunk_atom, std::uint64_t, caf::error>, caf::reacts_to<readable_atom>,
    caf::reacts_to<writable_atom>, caf::replies_to<bytes_atom, read_buffer>::with<read_buffer>,
    caf::reacts_to<ended_atom, caf::error>, caf::reacts_to<tick_atom, std::uint64_t>,
    caf::reacts_to<ack_atom, std::uint64_t>, caf::reacts_to<linger_atom>,
    caf::reacts_to<flush_atom>, caf::reacts_to<drain_atom>>;

/// The producer of one outgoing multi-frame body: told how many more bytes it may produce.
using producer_actor = caf::typed_actor<caf::reacts_to<window_atom, std::uint64_t>>;

/// The writer thread of a stream whose writes block.
using writer_actor = caf::typed_actor<caf::replies_to<write_atom, write_job>::with<written_atom>>;

/// The reader thread of a stream whose reads block.
using reader_actor = caf::typed_actor<caf::reacts_to<read_atom>>;

}  // namespace netcore::actors::detail
