#pragma once

// Counting heap allocations in the benchmark process: the executable interposes malloc,
// calloc and realloc (glibc), so while counting is on every allocation of the process counts — C++
// `new` (which calls malloc), CAF's, libxxhash's state objects — from every thread.

#include <cstdint>

namespace netcore::bench {

/// Counts from now on (true) or stops counting (false, the start).
void count_allocations(bool on) noexcept;
/// Allocations (malloc, calloc and realloc calls) the process made while counting.
std::uint64_t allocations() noexcept;

}  // namespace netcore::bench
