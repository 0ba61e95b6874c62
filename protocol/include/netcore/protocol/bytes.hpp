#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace netcore::protocol {

/// Owned bytes.
using byte_buffer = std::vector<std::uint8_t>;

/// A non-owning view of contiguous bytes (C++17 has no std::span). The caller keeps the bytes
/// alive for as long as the view is used.
class byte_view {
 public:
  constexpr byte_view() noexcept = default;
  constexpr byte_view(const std::uint8_t* data, std::size_t size) noexcept
      : data_(data), size_(size) {}
  byte_view(const byte_buffer& buf) noexcept : data_(buf.data()), size_(buf.size()) {}
  byte_view(std::string_view s) noexcept
      : data_(reinterpret_cast<const std::uint8_t*>(s.data())), size_(s.size()) {}

  constexpr const std::uint8_t* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const std::uint8_t* begin() const noexcept { return data_; }
  constexpr const std::uint8_t* end() const noexcept { return data_ + size_; }
  constexpr std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }

  /// The bytes [offset, offset + count), clamped to the view.
  constexpr byte_view sub(std::size_t offset, std::size_t count = SIZE_MAX) const noexcept {
    if (offset > size_) offset = size_;
    if (count > size_ - offset) count = size_ - offset;
    return {data_ + offset, count};
  }
  /// Drops the first `n` bytes (clamped).
  constexpr void remove_prefix(std::size_t n) noexcept {
    if (n > size_) n = size_;
    data_ += n;
    size_ -= n;
  }
  /// The bytes as characters, e.g. for routes and header values.
  std::string_view as_chars() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};
  }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Little-endian stores and loads; the wire format is little-endian on every host.
inline void store_le(std::uint8_t* p, std::uint64_t v, std::size_t width) noexcept {
  for (std::size_t i = 0; i < width; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t load_le(const std::uint8_t* p, std::size_t width) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace netcore::protocol
