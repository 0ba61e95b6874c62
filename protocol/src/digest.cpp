#include <netcore/protocol/digest.hpp>

#include <xxhash.h>

#include <new>

namespace netcore::protocol {

digest64 xxh3_64(byte_view data) noexcept {
  return XXH3_64bits(data.data(), data.size());
}

struct digest_state::impl {
  XXH3_state_t* state = nullptr;

  impl() : state(XXH3_createState()) {
    if (state == nullptr) throw std::bad_alloc();
    XXH3_64bits_reset(state);
  }
  ~impl() { XXH3_freeState(state); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
};

digest_state::digest_state() : impl_(std::make_unique<impl>()) {}
digest_state::~digest_state() = default;
digest_state::digest_state(digest_state&&) noexcept = default;
digest_state& digest_state::operator=(digest_state&&) noexcept = default;

void digest_state::update(byte_view data) noexcept {
  // A moved-from state has no impl: it ignores updates and digests as empty.
  if (!impl_ || data.empty()) return;
  XXH3_64bits_update(impl_->state, data.data(), data.size());
}

digest64 digest_state::finish() const noexcept {
  if (!impl_) return XXH3_64bits(nullptr, 0);
  return XXH3_64bits_digest(impl_->state);
}

void digest_state::reset() noexcept {
  if (impl_) XXH3_64bits_reset(impl_->state);
}

}  // namespace netcore::protocol
