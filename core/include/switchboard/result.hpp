// SPDX-License-Identifier: MIT
// Results and rows: forward iteration over a running statement, typed column access.
#pragma once

#include <switchboard/error.hpp>
#include <switchboard/export.hpp>
#include <switchboard/spi/backend.hpp>
#include <switchboard/value.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace switchboard {

namespace detail {
class connection_core;
struct statement_slot;
}  // namespace detail

class result;
class connection;

/// What a statement that returns no rows reports.
struct command_result {
    std::uint64_t affected_rows = 0;
    std::optional<std::int64_t> last_insert_id;  ///< where the backend has one
};

/// The current row of a result. A view: valid until the result moves to the next row.
///
/// get<T>(column) reads a column as T, where T is bool, any integer type, float, double,
/// std::string, std::string_view (valid until the next row), bytes, bytes_view, value_view,
/// or std::optional of one of them for a column that may be NULL. Conversions are strict:
/// integer columns read as integers (range-checked), bool (only 0 and 1) or floating point;
/// floating-point columns only as floating point; text as strings or bytes; blobs as bytes
/// or strings. Anything else, and NULL into a non-optional, throws usage_error naming the
/// column; the connection stays usable.
class SWITCHBOARD_API row {
public:
    std::size_t size() const noexcept;
    std::string_view column_name(std::size_t index) const;

    /// The raw value of a column; throws usage_error for an index out of range.
    value_view raw(std::size_t index) const;  // defined below result
    value_view raw(std::string_view name) const { return raw(index_of(name)); }

    template <class T>
    T get(std::size_t index) const {
        return convert<T>(raw(index), index);
    }
    template <class T>
    T get(std::string_view name) const {
        std::size_t i = index_of(name);
        return convert<T>(raw(i), i);
    }

    /// Throws usage_error if there is no column of that name.
    std::size_t index_of(std::string_view name) const;

private:
    friend class result;
    explicit row(const result* owner) noexcept : result_(owner) {}

    template <class T>
    T convert(const value_view& v, std::size_t index) const;
    [[noreturn]] void throw_mismatch(std::size_t index, value_type actual, std::string_view wanted) const;
    [[noreturn]] void throw_null(std::size_t index, std::string_view wanted) const;
    [[noreturn]] void throw_out_of_range(std::size_t index, std::string_view wanted) const;
    [[noreturn]] void throw_bad_index(std::size_t index) const;

    const result* result_;
};

/// The rows of a running statement, read forward once, in order.
///
///     for (const row& r : conn.query("SELECT id, name FROM t WHERE id > ?", 10))
///         use(r.get<std::int64_t>(0), r.get<std::optional<std::string>>("name"));
///
/// Rows stream from the backend as you advance; nothing is buffered by core. Move-only.
/// A result must not outlive its connection, and belongs to the thread using the
/// connection. Errors while advancing are thrown from next() / operator++ as from any
/// statement (and doom the connection on a disconnection).
class SWITCHBOARD_API result {
public:
    result(result&& other) noexcept;
    result& operator=(result&& other) noexcept;
    result(const result&) = delete;
    result& operator=(const result&) = delete;
    ~result();

    /// Moves to the next row; false at the end. The first call moves to the first row.
    bool next();
    /// The current row; valid after next() returned true.
    const row& current() const noexcept { return row_; }

    std::size_t column_count() const noexcept;
    std::string_view column_name(std::size_t index) const;
    std::optional<std::size_t> find_column(std::string_view name) const noexcept;

    std::uint64_t affected_rows() const noexcept;
    std::optional<std::int64_t> last_insert_id() const noexcept;
    /// The statement text (never the bound values).
    const std::string& sql() const noexcept;

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = row;
        using difference_type = std::ptrdiff_t;
        using pointer = const row*;
        using reference = const row&;

        iterator() = default;
        reference operator*() const noexcept { return owner_->current(); }
        pointer operator->() const noexcept { return &owner_->current(); }
        iterator& operator++() {
            if (!owner_->next()) owner_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.owner_ == b.owner_; }

    private:
        friend class result;
        explicit iterator(result* owner) noexcept : owner_(owner) {}
        result* owner_ = nullptr;
    };

    /// Starts iteration: moves to the first row. Call once.
    iterator begin();
    iterator end() noexcept { return {}; }

private:
    friend class row;
    friend class connection;
    result(detail::connection_core* core, detail::statement_slot* slot) noexcept;
    void release() noexcept;

    friend class detail::connection_core;
    void adopt(result& other) noexcept;
    bool next_slow();
    [[noreturn]] void fail_next();

    // The statement and its column count are cached here for the hot path (row::raw). When
    // the connection drops the statement under a live result, it clears both, so every read
    // then takes the slow path, which reports the loss.
    detail::connection_core* core_ = nullptr;
    detail::statement_slot* slot_ = nullptr;
    spi::backend_statement* statement_ = nullptr;
    std::size_t columns_ = 0;
    row row_{this};
};

inline bool result::next() {
    if (statement_ != nullptr) [[likely]] {
        try {
            return statement_->next_row();
        } catch (...) {
            fail_next();
        }
    }
    return next_slow();
}

inline value_view row::raw(std::size_t index) const {
    if (index < result_->columns_) [[likely]]
        return result_->statement_->column(index);
    throw_bad_index(index);
}

// ---- conversions -------------------------------------------------------------------------

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
constexpr std::string_view type_name() noexcept {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_integral_v<T>) return std::is_signed_v<T> ? "signed integer" : "unsigned integer";
    else if constexpr (std::is_floating_point_v<T>) return "floating point";
    else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) return "string";
    else if constexpr (std::is_same_v<T, bytes> || std::is_same_v<T, bytes_view>) return "bytes";
    else return "value";
}
}  // namespace detail

template <class T>
T row::convert(const value_view& v, std::size_t index) const {
    if constexpr (detail::is_optional<T>::value) {
        if (std::holds_alternative<null_t>(v)) return std::nullopt;
        return convert<typename T::value_type>(v, index);
    } else if constexpr (std::is_same_v<T, value_view>) {
        return v;
    } else {
        constexpr std::string_view wanted = detail::type_name<T>();
        const value_type actual = type_of(v);
        if (actual == value_type::null) throw_null(index, wanted);
        if constexpr (std::is_same_v<T, bool>) {
            if (actual == value_type::boolean) return std::get<bool>(v);
            if (actual == value_type::int64) {
                const std::int64_t i = std::get<std::int64_t>(v);
                if (i == 0 || i == 1) return i == 1;
                throw_out_of_range(index, wanted);
            }
        } else if constexpr (std::is_integral_v<T>) {
            if (actual == value_type::int64) {
                const std::int64_t i = std::get<std::int64_t>(v);
                if constexpr (std::is_signed_v<T>) {
                    if (i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max()) return static_cast<T>(i);
                } else {
                    if (i >= 0 && static_cast<std::uint64_t>(i) <= std::numeric_limits<T>::max()) return static_cast<T>(i);
                }
                throw_out_of_range(index, wanted);
            }
            if (actual == value_type::boolean) return static_cast<T>(std::get<bool>(v) ? 1 : 0);
        } else if constexpr (std::is_floating_point_v<T>) {
            if (actual == value_type::float64) return static_cast<T>(std::get<double>(v));
            if (actual == value_type::int64) return static_cast<T>(std::get<std::int64_t>(v));
        } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
            if (actual == value_type::text) return T(std::get<std::string_view>(v));
            if (actual == value_type::blob) {
                const bytes_view b = std::get<bytes_view>(v);
                return T(reinterpret_cast<const char*>(b.data), b.size);
            }
        } else if constexpr (std::is_same_v<T, bytes> || std::is_same_v<T, bytes_view>) {
            if (actual == value_type::blob) {
                const bytes_view b = std::get<bytes_view>(v);
                if constexpr (std::is_same_v<T, bytes>) return bytes(b.data, b.data + b.size);
                else return b;
            }
            if (actual == value_type::text) {
                const std::string_view s = std::get<std::string_view>(v);
                const auto* p = reinterpret_cast<const std::byte*>(s.data());
                if constexpr (std::is_same_v<T, bytes>) return bytes(p, p + s.size());
                else return bytes_view(p, s.size());
            }
        } else {
            static_assert(sizeof(T) == 0, "row::get<T>: unsupported type");
        }
        throw_mismatch(index, actual, wanted);
    }
}

}  // namespace switchboard
