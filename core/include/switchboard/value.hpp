// SPDX-License-Identifier: MIT
// The closed set of values that cross the plugin boundary: bound parameters in, column values out.
#pragma once

#include <switchboard/export.hpp>

#include <cstddef>
#include <climits>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace switchboard {

/// SQL NULL as a parameter: `conn.execute("UPDATE t SET a = ?", switchboard::null)`.
struct null_t {
    friend constexpr bool operator==(null_t, null_t) noexcept { return true; }
};
inline constexpr null_t null{};

/// Owned binary data (BLOB, bytea, VARBINARY); may hold any byte, NUL included.
using bytes = std::vector<std::byte>;

/// A view of binary data; distinct from text so a backend binds it as a blob.
struct bytes_view {
    const std::byte* data = nullptr;
    std::size_t size = 0;

    bytes_view() = default;
    bytes_view(const std::byte* d, std::size_t n) noexcept : data(d), size(n) {}
    bytes_view(std::span<const std::byte> s) noexcept : data(s.data()), size(s.size()) {}  // NOLINT: implicit by design
    bytes_view(const bytes& b) noexcept : data(b.data()), size(b.size()) {}                 // NOLINT: implicit by design
    std::span<const std::byte> span() const noexcept { return {data, size}; }
};

/// The type of a bound parameter or a column value.
enum class value_type : std::uint8_t { null, boolean, int64, float64, text, blob };

SWITCHBOARD_API std::string_view to_string(value_type t) noexcept;

/// A non-owning value: what a bound parameter is, and what a backend hands back for a
/// column of the current row. Text and blob views stay valid until the next call on the
/// same statement (next row, reset) or, for parameters, until the call returns.
using value_view = std::variant<null_t, bool, std::int64_t, double, std::string_view, bytes_view>;

inline value_type type_of(const value_view& v) noexcept { return static_cast<value_type>(v.index()); }

/// How a C++ argument becomes a parameter. Overloads, not a trait, so that a user type
/// can join by declaring `switchboard::value_view to_param(const my_type&)` in its namespace.
/// Out-of-range unsigned values throw usage_error.
inline value_view to_param(null_t) noexcept { return null; }
inline value_view to_param(std::nullopt_t) noexcept { return null; }
inline value_view to_param(bool v) noexcept { return v; }
template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>)
value_view to_param(I v);
inline value_view to_param(float v) noexcept { return static_cast<double>(v); }
inline value_view to_param(double v) noexcept { return v; }
inline value_view to_param(std::string_view v) noexcept { return v; }
inline value_view to_param(const std::string& v) noexcept { return std::string_view(v); }
inline value_view to_param(const char* v) noexcept {
    if (v == nullptr) return null;
    return std::string_view(v);
}
inline value_view to_param(bytes_view v) noexcept { return v; }
inline value_view to_param(const bytes& v) noexcept { return bytes_view(v); }
inline value_view to_param(std::span<const std::byte> v) noexcept { return bytes_view(v); }
inline value_view to_param(const value_view& v) noexcept { return v; }
template <class T>
value_view to_param(const std::optional<T>& v) {
    if (!v) return null;
    return to_param(*v);
}

namespace detail {
[[noreturn]] SWITCHBOARD_API void throw_unsigned_out_of_range(unsigned long long v);
}

template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>)
value_view to_param(I v) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
        if (v > static_cast<I>(INT64_MAX)) detail::throw_unsigned_out_of_range(v);
    }
    return static_cast<std::int64_t>(v);
}

}  // namespace switchboard
