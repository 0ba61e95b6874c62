#pragma once

#include <netcore/protocol/bytes.hpp>

#include <cstdint>
#include <memory>

namespace netcore::protocol {

/// The whole-message digest: XXH3-64 (seed 0) of the message body, from Debian's libxxhash.
using digest64 = std::uint64_t;

/// XXH3-64 of `data` in one call.
digest64 xxh3_64(byte_view data) noexcept;

/// Incremental XXH3-64 over a body that arrives in pieces; equals xxh3_64 of the concatenation.
class digest_state {
 public:
  digest_state();
  ~digest_state();
  digest_state(digest_state&&) noexcept;
  digest_state& operator=(digest_state&&) noexcept;
  digest_state(const digest_state&) = delete;
  digest_state& operator=(const digest_state&) = delete;

  /// Adds `data` to the digest.
  void update(byte_view data) noexcept;
  /// The digest of everything added so far (the state stays usable).
  digest64 finish() const noexcept;
  /// Starts over.
  void reset() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace netcore::protocol
