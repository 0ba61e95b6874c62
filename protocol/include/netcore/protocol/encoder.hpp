#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/transform.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace netcore::protocol {

/// Writes the 32-byte header for `h` (including both checksum fields as given/computed: the
/// header checksum is computed here, `h.payload_crc` is written as is) into `out[0..32)`.
void pack_header(const frame_header& h, std::uint8_t* out) noexcept;

/// Reads and verifies the header at `in[0..32)`. Returns errc::ok, errc::header_corrupt (bad
/// magic or header checksum) or errc::unsupported_version (valid magic, another version).
errc unpack_header(const std::uint8_t* in, frame_header& out) noexcept;

/// One piece of a vectored write; same layout as POSIX `struct iovec`.
struct io_slice {
  const void* data;
  std::size_t size;
};

/// Encodes frames for one connection into a batch ready for a single vectored write.
///
/// Headers and small payloads (metadata, reasons, settings, bodies up to 512 bytes) are written
/// into storage the encoder owns, so runs of small frames become one slice; larger bodies passed
/// to data() and open_single() are referenced, never copied, so the caller keeps them alive and
/// unchanged until the batch has been written and clear() called.
/// Typical use: append many frames, write slices() with one writev/async_write, then clear().
class encoder {
 public:
  encoder() = default;

  /// OPEN for message `id` (the caller's own id space) of `total_size` body bytes on the wire
  /// (unknown_size when not known yet). A non-empty `chain` names the transforms that made the
  /// body's wire bytes (flags::transformed; its block goes before the metadata).
  void open(std::uint64_t id, const message_meta& meta, std::uint64_t total_size,
            const transform_chain& chain = {});

  /// A whole message in one OPEN frame (flags::single): [transform block], metadata, the body
  /// (referenced; its wire bytes) and their digest. Requires encoded_transforms_size(chain) +
  /// encoded_meta_size(meta) + body.size() + 8 <= max_wire_payload.
  void open_single(std::uint64_t id, const message_meta& meta, byte_view body,
                   const transform_chain& chain = {});

  /// DATA: `chunk` (referenced) at byte `offset` of message `id`.
  void data(std::uint64_t id, std::uint64_t offset, byte_view chunk);

  /// END of message `id`: its total size and the XXH3-64 digest of the whole body.
  void end(std::uint64_t id, std::uint64_t total_size, digest64 digest);

  /// CANCEL of message (`who`, `id`) — `who` as seen by the sender of this frame — with `reason`.
  void cancel(std::uint64_t id, origin who, errc reason, std::string_view text = {});

  /// ERROR about message (`who`, `id`), or about the connection when `id` is 0.
  void error(std::uint64_t id, origin who, errc code, std::string_view text = {});

  /// CREDIT: lets the peer send `increment` more body bytes of its message `id`
  /// (or of the whole connection when `id` is 0).
  void credit(std::uint64_t id, std::uint64_t increment);

  /// PING with an opaque `token`.
  void ping(std::uint64_t token);
  /// PONG answering a PING's `token`.
  void pong(std::uint64_t token);
  /// GOAWAY: this side opens no new messages.
  void goaway(errc code, std::string_view text = {});
  /// HELLO announcing this side's settings.
  void hello(const settings& s);

  /// The batch as slices for one vectored write. Valid until the next append or clear().
  const std::vector<io_slice>& slices();
  /// Total bytes in the batch.
  std::size_t size() const noexcept { return total_; }
  /// Frames in the batch.
  std::size_t frame_count() const noexcept { return frames_; }
  /// True when nothing is queued.
  bool empty() const noexcept { return frames_ == 0; }
  /// Appends the whole batch to `out` as contiguous bytes (a copy; for tests and byte pipes).
  void flatten_into(byte_buffer& out);
  /// Forgets every frame; storage is kept for reuse.
  void clear() noexcept;

 private:
  struct segment {
    const std::uint8_t* external;  // nullptr: bytes live in arena_ at `offset`
    std::size_t offset;
    std::size_t size;
  };
  void add_frame(frame_header h, byte_view payload_owned_or_external, bool external);
  void add_owned_frame(frame_header h, const byte_buffer& payload);
  void push_arena(std::size_t offset, std::size_t size);
  void push_external(const std::uint8_t* p, std::size_t size);

  byte_buffer arena_;
  byte_buffer scratch_;
  std::vector<segment> segments_;
  std::vector<io_slice> slices_;
  std::size_t total_ = 0;
  std::size_t frames_ = 0;
  bool slices_valid_ = false;
};

}  // namespace netcore::protocol
