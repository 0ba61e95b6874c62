#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/transform.hpp>

#include <cstdint>
#include <memory>

namespace netcore::protocol {

/// How a sender applies its transforms.
struct transform_options {
  /// zstd's compression level: 1 (fastest of the standard levels) … 19; negative levels are
  /// faster still and compress less; 0 means zstd's default (3). Out-of-range values are clamped.
  int zstd_level = 1;
};

/// A body after its transforms: the bytes that travel and what was done to them.
struct transformed_body {
  byte_buffer bytes;
  transform_chain chain;
};

/// Applies and undoes message transforms. It keeps zstd's contexts from one message to the next
/// (making a context costs more than compressing a small body): the compression context only
/// once apply() was called, the decompression context only once undo() was; each is freed with
/// the codec. One per direction of a connection; not thread-safe; movable.
class transform_codec {
 public:
  transform_codec() noexcept;
  ~transform_codec();
  transform_codec(transform_codec&&) noexcept;
  transform_codec& operator=(transform_codec&&) noexcept;
  transform_codec(const transform_codec&) = delete;
  transform_codec& operator=(const transform_codec&) = delete;

  /// Applies the transforms of `mask` this build knows to `body`, in ascending id order, each
  /// only when it makes the body strictly smaller. Returns true when at least one was applied:
  /// `out` then holds the bytes to send (exactly sized) and the chain to announce. Returns false
  /// when the body should travel as it is (`out` is then unspecified). Never throws: a transform
  /// that cannot run (out of memory) is skipped. The codec keeps no reference to `body`.
  bool apply(std::uint64_t mask, byte_view body, const transform_options& options,
             transformed_body& out);

  /// Undoes `chain` on `wire` (the body as it arrived), last step first, into `out`, which ends
  /// with exactly chain.decoded_size() bytes. Every step's output is allocated at the size its
  /// step declares, and decoding never writes beyond it: the caller must have checked those
  /// sizes against its limits first. Errors: errc::unsupported_transform (a transform this
  /// build does not know), errc::size_mismatch (a step decodes to more or fewer bytes than it
  /// declares), errc::transform_failed (a step's input is not what its transform produces, e.g.
  /// corrupt or truncated zstd data), errc::memory_limit (an output could not be allocated).
  /// On an error `out` is unspecified.
  errc undo(const transform_chain& chain, byte_view wire, byte_buffer& out);

 private:
  struct contexts;
  std::unique_ptr<contexts> ctx_;
};

}  // namespace netcore::protocol
