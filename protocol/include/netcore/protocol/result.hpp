#pragma once

#include <netcore/protocol/error.hpp>

#include <cassert>
#include <utility>
#include <variant>

namespace netcore::protocol {

/// Either a value or an errc (C++17 has no std::expected). Never throws on the hot path.
template <class T>
class result {
 public:
  /// A successful result holding `value`.
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  /// A failed result; `e` must not be errc::ok.
  result(errc e) : state_(std::in_place_index<1>, e) { assert(e != errc::ok); }

  /// True when a value is held.
  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The error, or errc::ok when a value is held.
  errc error() const noexcept { return ok() ? errc::ok : std::get<1>(state_); }

  /// The value; only valid when ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, errc> state_;
};

}  // namespace netcore::protocol
