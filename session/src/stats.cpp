#include <netcore/session/stats.hpp>

namespace netcore::session {

void reason_counts::add(std::error_code reason) {
  for (auto& [r, n] : entries_) {
    if (r == reason) {
      ++n;
      return;
    }
  }
  entries_.emplace_back(reason, 1);
}

std::uint64_t reason_counts::count(std::error_code reason) const noexcept {
  for (const auto& [r, n] : entries_)
    if (r == reason) return n;
  return 0;
}

std::uint64_t reason_counts::total() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& entry : entries_) sum += entry.second;
  return sum;
}

}  // namespace netcore::session
