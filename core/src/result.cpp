// SPDX-License-Identifier: MIT
// Results and rows: advancing the backend cursor, column lookup, and conversion errors.
#include "connection_core.hpp"

#include <switchboard/result.hpp>

#include <string>

namespace switchboard {

result::result(detail::connection_core* core, detail::statement_slot* slot) noexcept : core_(core), slot_(slot) {
    slot_->owner = this;
}

void result::adopt(result& other) noexcept {
    core_ = std::exchange(other.core_, nullptr);
    slot_ = std::exchange(other.slot_, nullptr);
    statement_ = std::exchange(other.statement_, nullptr);
    columns_ = std::exchange(other.columns_, 0);
    if (slot_ != nullptr) slot_->owner = this;
}

result::result(result&& other) noexcept { adopt(other); }

result& result::operator=(result&& other) noexcept {
    if (this != &other) {
        release();
        adopt(other);
    }
    return *this;
}

result::~result() { release(); }

void result::release() noexcept {
    if (slot_ != nullptr) {
        if (core_ != nullptr) core_->release(*slot_);
        else delete slot_;  // the connection died first and handed the slot over
    }
    slot_ = nullptr;
    statement_ = nullptr;
    columns_ = 0;
}

void result::fail_next() { core_->translate_current(slot_->sql); }

bool result::next_slow() {
    if (slot_ == nullptr) switchboard::throw_usage("this result was moved from or released");
    if (slot_->outcome_unknown) {
        error_info info;
        info.kind = errc::commit_outcome_unknown;
        info.connection_usable = false;
        info.message = "the connection was lost while this result was open, outside a transaction: the statement "
                       "may or may not have committed";
        info.statement = slot_->sql;
        if (core_ != nullptr) {
            info.backend = std::string(core_->db().backend_name());
            info.database = core_->db().name();
        }
        throw_error(std::move(info));
    }
    if (core_ != nullptr) core_->check_open(slot_->sql);  // throws: the connection was lost or closed
    switchboard::throw_usage("the connection was closed while this result was open", {}, {}, slot_->sql);
}

result::iterator result::begin() { return iterator(next() ? this : nullptr); }

std::size_t result::column_count() const noexcept { return columns_; }

std::string_view result::column_name(std::size_t index) const {
    if (index >= columns_) row_.throw_bad_index(index);
    return statement_->column_name(index);
}

std::optional<std::size_t> result::find_column(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < columns_; ++i)
        if (statement_->column_name(i) == name) return i;
    return std::nullopt;
}

std::uint64_t result::affected_rows() const noexcept { return statement_ ? statement_->affected_rows() : 0; }

std::optional<std::int64_t> result::last_insert_id() const noexcept {
    return statement_ ? statement_->last_insert_id() : std::nullopt;
}

const std::string& result::sql() const noexcept {
    static const std::string none;
    return slot_ ? slot_->sql : none;
}

// ---- row -----------------------------------------------------------------------------------

std::size_t row::size() const noexcept { return result_->columns_; }

std::string_view row::column_name(std::size_t index) const { return result_->column_name(index); }

void row::throw_bad_index(std::size_t index) const {
    const result& r = *result_;
    if (r.slot_ == nullptr) switchboard::throw_usage("this result was moved from or released");
    if (r.statement_ == nullptr && r.core_ != nullptr) r.core_->check_open(r.slot_->sql);  // lost: throws
    if (r.statement_ == nullptr)
        switchboard::throw_usage("the connection was closed while this result was open", {}, {}, r.slot_->sql);
    r.core_->throw_usage("column index " + std::to_string(index) + " is out of range: the result has " +
                             std::to_string(r.columns_) + " column(s)",
                         r.sql());
}

std::size_t row::index_of(std::string_view name) const {
    if (auto i = result_->find_column(name)) return *i;
    if (result_->statement_ == nullptr) throw_bad_index(0);  // reports why the row is gone
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
