#include <netcore/protocol/digest.hpp>

#include <xxhash.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <xxh_x86dispatch.h>
// The dispatching entry points pick the widest vector unit of the CPU at run time (AVX-512, AVX2,
// SSE2); the plain ones are fixed to the library's build target (SSE2 on Debian), about 4x slower
// on a hot 64 KiB buffer. Both compute the same XXH3-64.
#define NETCORE_XXH3_64 XXH3_64bits_dispatch
#define NETCORE_XXH3_64_UPDATE XXH3_64bits_update_dispatch
#else
#define NETCORE_XXH3_64 XXH3_64bits
#define NETCORE_XXH3_64_UPDATE XXH3_64bits_update
#endif

#include <new>

namespace netcore::protocol {

digest64 xxh3_64(byte_view data) noexcept {
  return NETCORE_XXH3_64(data.data(), data.size());
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
  NETCORE_XXH3_64_UPDATE(impl_->state, data.data(), data.size());
}

digest64 digest_state::finish() const noexcept {
  if (!impl_) return XXH3_64bits(nullptr, 0);
  return XXH3_64bits_digest(impl_->state);
}

void digest_state::reset() noexcept {
  if (impl_) XXH3_64bits_reset(impl_->state);
}

}  // namespace netcore::protocol
