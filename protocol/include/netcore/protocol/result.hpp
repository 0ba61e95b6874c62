#pragma once

#include <netcore/protocol/error.hpp>

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace netcore::protocol {

/// Either a value or an error of type E (C++17 has no std::expected). Never throws on the hot
/// path. E is protocol::errc inside the protocol core and std::error_code at the API of the
/// layers above it.
template <class T, class E = errc>
class result {
 public:
  /// A successful result holding `value`.
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  /// A failed result; `e` must not be the "no error" value of E.
  result(E e) : state_(std::in_place_index<1>, std::move(e)) { assert(e != E{}); }
  /// A failed result from an error enum convertible to E (e.g. an errc into a std::error_code).
  template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum> && !std::is_same_v<Enum, E> &&
                                                 std::is_constructible_v<E, Enum>>>
  result(Enum e) : result(E(e)) {}

  /// True when a value is held.
  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The error, or E{} when a value is held.
  E error() const noexcept { return ok() ? E{} : std::get<1>(state_); }

  /// The value; only valid when ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(state_)); }

 private:
  std::variant<T, E> state_;
};

}  // namespace netcore::protocol
