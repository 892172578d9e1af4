// SPDX-License-Identifier: MIT
// Results and rows: advancing the backend cursor, column lookup, and conversion errors.
#include "connection_core.hpp"

#include <switchboard/result.hpp>

#include <string>

namespace switchboard {

result::result(detail::connection_core* core, detail::statement_slot* slot) noexcept : core_(core), slot_(slot) {}

result::result(result&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      slot_(std::exchange(other.slot_, nullptr)),
      columns_(std::exchange(other.columns_, 0)) {}

result& result::operator=(result&& other) noexcept {
    if (this != &other) {
        release();
        core_ = std::exchange(other.core_, nullptr);
        slot_ = std::exchange(other.slot_, nullptr);
        columns_ = std::exchange(other.columns_, 0);
    }
    return *this;
}

result::~result() { release(); }

void result::release() noexcept {
    if (slot_ != nullptr) core_->release(*slot_);
    slot_ = nullptr;
}

spi::backend_statement& result::statement() const {
    if (slot_ == nullptr) switchboard::throw_usage("this result was moved from or released");
    if (!slot_->statement) [[unlikely]] {
        core_->check_open(slot_->sql);  // throws: the connection was lost or closed under the result
        switchboard::throw_usage("the connection was closed while this result was open", {}, {}, slot_->sql);
    }
    return *slot_->statement;
}

bool result::next() {
    spi::backend_statement& stmt = statement();
    return core_->guarded(slot_->sql, [&] { return stmt.next_row(); });
}

result::iterator result::begin() { return iterator(next() ? this : nullptr); }

std::size_t result::column_count() const noexcept { return columns_; }

std::string_view result::column_name(std::size_t index) const {
    spi::backend_statement& stmt = statement();
    if (index >= columns_)
        core_->throw_usage("column index " + std::to_string(index) + " is out of range: the result has " +
                               std::to_string(columns_) + " column(s)",
                           slot_->sql);
    return stmt.column_name(index);
}

std::optional<std::size_t> result::find_column(std::string_view name) const noexcept {
    if (slot_ == nullptr || !slot_->statement) return std::nullopt;
    for (std::size_t i = 0; i < columns_; ++i)
        if (slot_->statement->column_name(i) == name) return i;
    return std::nullopt;
}

std::uint64_t result::affected_rows() const noexcept {
    return slot_ && slot_->statement ? slot_->statement->affected_rows() : 0;
}

std::optional<std::int64_t> result::last_insert_id() const noexcept {
    return slot_ && slot_->statement ? slot_->statement->last_insert_id() : std::nullopt;
}

const std::string& result::sql() const noexcept {
    static const std::string none;
    return slot_ ? slot_->sql : none;
}

// ---- row -----------------------------------------------------------------------------------

std::size_t row::size() const noexcept { return result_->columns_; }

std::string_view row::column_name(std::size_t index) const { return result_->column_name(index); }

value_view row::raw(std::size_t index) const {
    spi::backend_statement& stmt = result_->statement();
    if (index >= result_->columns_) [[unlikely]]
        result_->core_->throw_usage("column index " + std::to_string(index) + " is out of range: the row has " +
                                        std::to_string(result_->columns_) + " column(s)",
                                    result_->sql());
    return stmt.column(index);
}

std::size_t row::index_of(std::string_view name) const {
    if (auto i = result_->find_column(name)) return *i;
    result_->core_->throw_usage("no column named '" + std::string(name) + "' in the result", result_->sql());
}

namespace {
std::string describe_column(const row& r, std::size_t index) {
    return "column " + std::to_string(index) + " ('" + std::string(r.column_name(index)) + "')";
}
}  // namespace

void row::throw_mismatch(std::size_t index, value_type actual, std::string_view wanted) const {
    result_->core_->throw_usage(describe_column(*this, index) + " holds " + std::string(to_string(actual)) +
                                    ", which cannot be read as " + std::string(wanted),
                                result_->sql());
}

void row::throw_null(std::size_t index, std::string_view wanted) const {
    result_->core_->throw_usage(describe_column(*this, index) + " is NULL; read it as std::optional<" +
                                    std::string(wanted) + "> where NULL is possible",
                                result_->sql());
}

void row::throw_out_of_range(std::size_t index, std::string_view wanted) const {
    result_->core_->throw_usage(describe_column(*this, index) + " holds a value out of range for " + std::string(wanted),
                                result_->sql());
}

}  // namespace switchboard
