#include "alloc_counter.hpp"

#include <atomic>
#include <cstddef>

// glibc's own entry points, which the interposed functions forward to.
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* __libc_calloc(std::size_t n, std::size_t size);
extern "C" void* __libc_realloc(void* p, std::size_t size);

namespace {
// Off outside the measured stretches: a shared counter bumped by every thread would cost the
// other benchmarks its cache-line traffic.
std::atomic<bool> counting{false};
std::atomic<std::uint64_t> counted{0};

inline void count() noexcept {
  if (counting.load(std::memory_order_relaxed)) counted.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// Sanitizers bring their own allocators: there nothing is interposed (and nothing counted).
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
extern "C" void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}

extern "C" void* calloc(std::size_t n, std::size_t size) {
  count();
  return __libc_calloc(n, size);
}

extern "C" void* realloc(void* p, std::size_t size) {
  count();
  return __libc_realloc(p, size);
}
#endif

namespace netcore::bench {

void count_allocations(bool on) noexcept {
  counting.store(on);
}

std::uint64_t allocations() noexcept {
  return counted.load(std::memory_order_relaxed);
}

}  // namespace netcore::bench
